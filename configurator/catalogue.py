"""The procedure catalogue: import (JSON as in processes/*/procedure.json, or CSV from a
spreadsheet), search without caring for case or Vietnamese accents, and one entry with the
versions of its template.

An import is all or nothing: every row is checked first, every problem is reported with its row
and field, and nothing is written unless all rows are good. Entries are upserted by key (the
procedure's business id, also its template's BPMN process id); the Portal code may be unknown.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from typing import Any

from configurator import library
from engine.domain import deadlines
from engine.domain.errors import EngineError
from engine.domain.errors import NotFound
from engine.domain.errors import Problems
from engine.domain.errors import Reason
from engine.domain.errors import english
from engine.services.runtime import Runtime
from engine.store import catalogue_records

LEVELS = {
    "province": "province",
    "commune": "commune",
    "tinh": "province",
    "cap tinh": "province",
    "xa": "commune",
    "cap xa": "commune",
}
ONLINE_LEVELS = {"full": "full", "partial": "partial", "toan trinh": "full", "mot phan": "partial"}
KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,119}$")
CODE_PATTERN = re.compile(r"^[0-9]\.[0-9]{6}(\.[A-Za-z0-9]+)?$")
CUTOFF_PATTERN = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
CSV_COLUMNS = (
    "key",
    "code",
    "name",
    "field_code",
    "field_name",
    "level",
    "legal_limit_days",
    "clock_cutoff",
    "fees",
    "required_documents",
    "forms",
    "result",
    "legal_basis",
    "online_service_level",
)
CSV_REQUIRED = ("key", "name", "level")
HOURS_PER_DAY = 8


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row: row 1 is the first entry (JSON) or the header line (CSV).

    `message` is English; `template` and `params` let a page show it in another language."""

    row: int
    field: str
    message: str
    template: str | None = dc_field(default=None, compare=False, repr=False)
    params: dict = dc_field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, row: int, name: str, template: str, **params) -> Problem:
        return cls(row, name, template % params if params else template, template, params)

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"


class _Refused(EngineError):
    """One value of an entry refused by a converter (caught and reported as a Problem)."""


class CatalogueError(Problems):
    """An import refused as a whole; `problems` lists every bad field of every bad row."""


@dataclass(frozen=True)
class TemplateVersion:
    definition_id: int
    version: int
    status: str
    digest: str
    published_at: datetime | None


@dataclass(frozen=True)
class CatalogueEntry:
    key: str
    code: str | None
    name: str
    field_code: str | None
    field_name: str | None
    level: str
    legal_limit_days: float | None
    clock_cutoff: str | None
    clock_rule: str | None
    fees: list
    required_documents: list
    result: str | None
    legal_basis: list
    online_service_level: str | None
    sources: list
    assumptions: list
    updated_at: datetime
    versions: tuple[TemplateVersion, ...] = dc_field(default=())
    fees_before_processing: bool = False
    forms: list = dc_field(default_factory=list)  # [{code, name}]
    retired_at: datetime | None = None

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    @property
    def same_day(self) -> bool:
        """Settled on the day the clock starts ("giải quyết trong ngày"); stored as 0 days."""
        return self.legal_limit_days is not None and deadlines.is_same_day(
            round(self.legal_limit_days * HOURS_PER_DAY * 60)
        )

    @property
    def legal_limit_hours(self) -> float | None:
        """Hanoi shows the limit in working hours too: 1 working day = 8 working hours."""
        return None if self.legal_limit_days is None else self.legal_limit_days * HOURS_PER_DAY


@dataclass(frozen=True)
class SearchResult:
    entries: list[CatalogueEntry]
    total: int


# -- normalising --------------------------------------------------------------------------------


def normalise(text: str | None) -> str:
    """Lower-case ASCII without accents, single-spaced: 'Đăng ký  KHAI SINH' -> 'dang ky khai sinh'."""
    if not text:
        return ""
    text = text.replace("đ", "d").replace("Đ", "D")
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(stripped.lower().replace("_", " ").split())


def _search_text(row: Mapping[str, Any]) -> str:
    return " ".join(filter(None, (normalise(row["name"]), (row.get("code") or "").lower(), normalise(row["key"]))))


# -- import -------------------------------------------------------------------------------------


def import_json(rt: Runtime, data: Mapping | list, actor: str = "import") -> list[str]:
    """Upsert one entry or a list of entries in the processes/*/procedure.json format; returns keys.

    Rows are numbered from 1 in the order given. Raises CatalogueError (nothing written) when any
    entry is bad. Each new or changed entry gets a line of history in `actor`'s name.
    """
    entries = [data] if isinstance(data, Mapping) else list(data)
    problems: list[Problem] = []
    rows = [_row_from_json(number, entry, problems) for number, entry in enumerate(entries, start=1)]
    return _write(rt, rows, problems, actor)


def checked_row(entry: Mapping) -> dict:
    """One entry (procedure.json format) checked exactly as an import checks it, as the row the
    catalogue stores; raises CatalogueError naming every bad field (row 1)."""
    problems: list[Problem] = []
    row = _row_from_json(1, entry, problems)
    if problems:
        raise CatalogueError(problems)
    return _stored(row)


def _stored(row: dict) -> dict:
    """The columns an import writes, search texts included (the row's number left out)."""
    return {
        **{k: v for k, v in row.items() if k != "_row"},
        "search_text": _search_text(row),
        "field_search": normalise(row.get("field_name")) or None,
    }


def import_csv(rt: Runtime, text: str, actor: str = "import") -> list[str]:
    """Upsert the rows of a CSV export (comma-separated, UTF-8, a header line); returns the keys.

    Columns (by header name, any order; `key`, `name` and `level` are required):

    - ``key``: the business id, also the template's BPMN process id (``dang_ky_khai_sinh``);
    - ``code``: mã TTHC, ``1.001193`` or a provincial variant ``1.000948.H38``; may be empty;
    - ``name``; ``field_code`` and ``field_name`` (lĩnh vực);
    - ``level``: ``province`` or ``commune`` (``tỉnh`` / ``xã`` are accepted);
    - ``legal_limit_days``: working days, ``0.5`` or ``0,5`` allowed; ``0``, ``trong ngày`` or
      ``same day`` for a procedure settled the day its clock starts;
    - ``clock_cutoff``: ``HH:MM`` after which a receipt counts from the next working day;
    - ``fees``: ``"; "``-separated ``name: amount`` in VND, e.g. ``Lệ phí: 8000`` or ``Lệ phí: 8.000``;
    - ``required_documents``: ``"; "``-separated ``name|copies|bản chính or bản sao``,
      e.g. ``Tờ khai|1|bản chính; CCCD|1|bản sao``;
    - ``forms``: ``"; "``-separated names of the forms (mẫu đơn, tờ khai) the procedure uses;
    - ``result``; ``legal_basis``: ``"; "``-separated texts;
    - ``online_service_level``: ``full``, ``partial`` (``toàn trình`` / ``một phần``) or empty.

    Problems name the line of the file (the header is row 1, the first entry row 2). Raises
    CatalogueError (nothing written) when any row is bad.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    problems = [
        Problem.of(1, name, english("required column is missing")) for name in CSV_REQUIRED if name not in header
    ]
    problems += [Problem.of(1, name, english("unknown column")) for name in header if name not in CSV_COLUMNS]
    if problems:
        raise CatalogueError(problems)
    rows = []
    for record in reader:
        number = reader.line_num
        values = {k: (v or "").strip() for k, v in record.items() if k in CSV_COLUMNS}
        if not any(values.values()):
            continue  # a blank line at the end of a spreadsheet export
        rows.append(_row_from_csv(number, values, problems))
    return _write(rt, rows, problems, actor)


def load_library(rt: Runtime) -> list[str]:
    """Import the catalogue entry of every procedure shipped in processes/."""
    return import_json(rt, [procedure.catalogue for procedure in library.procedures()])


def _write(rt: Runtime, rows: list[dict | None], problems: list[Problem], actor: str) -> list[str]:
    _refuse_duplicate_keys(rows, problems)
    if problems:
        raise CatalogueError(sorted(problems, key=lambda p: p.row))
    now = rt.clock.now()
    good = [{**_stored(row), "updated_at": now} for row in rows]
    with rt.db.session() as s:
        before = catalogue_records.procedures_by_keys(s, [row["key"] for row in good])
        catalogue_records.upsert_procedures(s, good)
        catalogue_records.add_changes(
            s,
            [
                {"procedure_key": row["key"], "at": now, "actor": actor, "action": "import", "changes": changes}
                for row in good
                if (changes := changed_fields(before.get(row["key"]), row))
            ],
        )
    return [row["key"] for row in good]


#: The fields a person edits (and the history shows); search texts and dates follow from them.
EDITED_FIELDS = (
    "code",
    "name",
    "field_code",
    "field_name",
    "level",
    "legal_limit_days",
    "clock_cutoff",
    "clock_rule",
    "fees",
    "required_documents",
    "forms",
    "result",
    "legal_basis",
    "online_service_level",
)


def changed_fields(record, row: Mapping) -> dict:
    """field -> [before, after] for every edited field that differs (before is None for a new entry)."""
    return {
        name: [getattr(record, name, None) if record is not None else None, row.get(name)]
        for name in EDITED_FIELDS
        if _comparable(getattr(record, name, None) if record is not None else None) != _comparable(row.get(name))
    }


def _comparable(value):
    return None if value in (None, [], "") else value


def _refuse_duplicate_keys(rows, problems) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        if row is None or not row.get("key"):
            continue
        if row["key"] in seen:
            problems.append(
                Problem.of(
                    row["_row"],
                    "key",
                    english("'%(key)s' repeats row %(first)s"),
                    key=row["key"],
                    first=seen[row["key"]],
                )
            )
        seen.setdefault(row["key"], row["_row"])


def _row_from_json(number: int, entry: Any, problems: list[Problem]) -> dict | None:
    if not isinstance(entry, Mapping):
        problems.append(Problem.of(number, "entry", english("is not an object")))
        return None
    check = _Checker(number, problems)
    field = entry.get("field") or {}
    clock = entry.get("clock_start") or {}
    if not isinstance(field, Mapping) or not isinstance(clock, Mapping):
        check.fail("field" if not isinstance(field, Mapping) else "clock_start", english("must be an object"))
        field, clock = {}, {}
    row = _common(check, entry, field.get("code"), field.get("name"), clock.get("cutoff"))
    row["clock_rule"] = check.text("clock_start.rule", clock.get("rule"))
    row["fees"] = check.list_of("fees", entry.get("fees"), _json_fee)
    row["fees_before_processing"] = entry.get("fees_before_processing") is True
    row["required_documents"] = check.list_of("required_documents", entry.get("required_documents"), _json_document)
    row["legal_basis"] = check.list_of("legal_basis", entry.get("legal_basis"), _json_text)
    row["sources"] = check.list_of("sources", entry.get("sources"), _json_object)
    row["assumptions"] = check.list_of("assumptions", entry.get("assumptions"), _json_object)
    row["forms"] = check.list_of("forms", entry.get("forms"), _json_form)
    return row if check.ok else None


def _row_from_csv(number: int, values: Mapping[str, str], problems: list[Problem]) -> dict | None:
    check = _Checker(number, problems)
    row = _common(check, values, values.get("field_code"), values.get("field_name"), values.get("clock_cutoff"))
    row["clock_rule"] = None
    row["fees"] = check.parsed("fees", values.get("fees"), _csv_fees)
    row["fees_before_processing"] = False
    row["required_documents"] = check.parsed("required_documents", values.get("required_documents"), _csv_documents)
    row["legal_basis"] = _split(values.get("legal_basis"))
    row["forms"] = [{"code": None, "name": name} for name in _split(values.get("forms"))]
    row["sources"], row["assumptions"] = [], []
    return row if check.ok else None


def _common(check: _Checker, entry: Mapping, field_code, field_name, cutoff) -> dict:
    """The fields JSON and CSV rows share, checked."""
    return {
        "_row": check.row,
        "key": check.matches(
            "key", entry.get("key"), KEY_PATTERN, Reason.of("letters, digits and _ . - (a BPMN id)"), required=True
        ),
        "code": check.matches("code", entry.get("code"), CODE_PATTERN, Reason.of("like 1.001193 or 1.000948.H38")),
        "name": check.text("name", entry.get("name"), required=True, limit=500),
        "field_code": check.text("field_code", field_code, limit=40),
        "field_name": check.text("field_name", field_name, limit=300),
        "level": check.choice("level", entry.get("level"), LEVELS, required=True),
        "legal_limit_days": check.days("legal_limit_days", entry.get("legal_limit_days")),
        "clock_cutoff": check.matches("clock_cutoff", cutoff, CUTOFF_PATTERN, Reason.of("HH:MM, e.g. 15:00")),
        "result": check.text("result", entry.get("result")),
        "online_service_level": check.choice("online_service_level", entry.get("online_service_level"), ONLINE_LEVELS),
    }


class _Checker:
    """Collects the problems of one row; each method returns the clean value (or None)."""

    def __init__(self, row: int, problems: list[Problem]):
        self.row, self.problems, self.ok = row, problems, True

    def fail(self, name: str, template: str, **params) -> None:
        self.ok = False
        self.problems.append(Problem.of(self.row, name, template, **params))

    def text(self, name, value, *, required=False, limit=None) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(name, english("is required"))
            return None
        if not isinstance(value, str):
            self.fail(name, english("must be text"))
            return None
        if limit and len(value.strip()) > limit:
            self.fail(name, english("is longer than %(limit)s characters"), limit=limit)
            return None
        return value.strip()

    def matches(self, name, value, pattern, expected, *, required=False) -> str | None:
        value = self.text(name, value, required=required)
        if value is not None and not pattern.match(value):
            self.fail(name, english("'%(value)s' is not %(expected)s"), value=value, expected=expected)
            return None
        return value

    def choice(self, name, value, choices: Mapping[str, str], *, required=False) -> str | None:
        value = self.text(name, value, required=required)
        if value is None:
            return None
        chosen = choices.get(normalise(value))
        if chosen is None:
            self.fail(
                name,
                english("'%(value)s' is not one of %(choices)s"),
                value=value,
                choices=", ".join(sorted(set(choices.values()))),
            )
        return chosen

    def days(self, name, value) -> float | None:
        if value is None or value == "":
            return None
        if isinstance(value, str) and deadlines.is_same_day_text(value):
            return float(deadlines.SAME_DAY)
        try:
            days = float(value.replace(",", ".")) if isinstance(value, str) else float(value)
        except (TypeError, ValueError):
            days = None
        if isinstance(value, bool) or days is None or not math.isfinite(days) or days < 0:
            self.fail(name, english("'%(value)s' is not a number of working days"), value=value)
            return None
        if (days * 2) != int(days * 2):
            self.fail(name, english("'%(value)s': limits count in half working days"), value=value)
            return None
        return days

    def list_of(self, name, value, convert) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(name, english("must be a list"))
            return []
        return [self.parsed(f"{name}[{i}]", item, convert) for i, item in enumerate(value, start=1)]

    def parsed(self, name, value, convert):
        try:
            return convert(value)
        except _Refused as exc:
            self.fail(name, exc.template, **exc.params)
            return None


def _json_text(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Refused("must be non-empty text")
    return value.strip()


def _json_object(value) -> dict:
    if not isinstance(value, Mapping):
        raise _Refused("must be an object")
    return dict(value)


def _json_fee(value) -> dict:
    fee = _json_object(value)
    _json_text(fee.get("name"))
    amount = fee.get("amount_vnd")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount < 0):
        raise _Refused("amount_vnd '%(amount)s' is not a whole number of đồng", amount=amount)
    return fee


def _json_form(value) -> dict:
    form = _json_object(value)
    _json_text(form.get("name"))
    code = form.get("code")
    if code is not None and not isinstance(code, str):
        raise _Refused("the form's code must be text")
    return {"code": (code or "").strip() or None, "name": form["name"].strip()}


def _json_document(value) -> dict:
    document = _json_object(value)
    _json_text(document.get("name"))
    copies = document.get("copies", 1)
    if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
        raise _Refused("copies '%(copies)s' is not a positive whole number", copies=copies)
    if not isinstance(document.get("original", True), bool):
        raise _Refused("original must be true or false")
    return document


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(";") if part.strip()]


def _csv_fees(text: str | None) -> list[dict]:
    fees = []
    for part in _split(text):
        name, sep, amount = part.rpartition(":")
        digits = re.sub(r"[.,\s]|đ$|vnd$", "", amount.strip().lower())
        if not sep or not name.strip() or not digits.isdigit():
            raise _Refused("'%(part)s' is not 'name: amount' (e.g. 'Lệ phí: 8000')", part=part)
        fees.append({"name": name.strip(), "amount_vnd": int(digits), "note": None})
    return fees


def _csv_documents(text: str | None) -> list[dict]:
    documents = []
    for part in _split(text):
        pieces = [p.strip() for p in part.split("|")]
        if len(pieces) != 3 or not pieces[0] or not pieces[1].isdigit() or int(pieces[1]) < 1:
            raise _Refused("'%(part)s' is not 'name|copies|bản chính or bản sao'", part=part)
        kind = normalise(pieces[2])
        if kind not in ("ban chinh", "ban sao", "original", "copy"):
            raise _Refused("'%(part)s': the third part must be 'bản chính' or 'bản sao'", part=part)
        documents.append({"name": pieces[0], "copies": int(pieces[1]), "original": kind in ("ban chinh", "original")})
    return documents


# -- reading ------------------------------------------------------------------------------------


def search(
    rt: Runtime,
    text: str | None = None,
    field: str | None = None,
    level: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> SearchResult:
    """Entries whose name, code or key contain every word of `text`, ignoring case and accents.

    `field` is a field code or a field name (accents ignored); `level` is province or commune.
    """
    words = normalise(text).split()
    chosen_level = LEVELS.get(normalise(level)) if level else None
    if level and chosen_level is None:
        return SearchResult([], 0)
    with rt.db.read_session() as s:
        records, total = catalogue_records.search_procedures(
            s,
            words=[w for w in words],
            field=field,
            field_search=normalise(field) or None,
            level=chosen_level,
            limit=max(0, min(limit, 500)),
            offset=max(0, offset),
        )
        return SearchResult([_entry(r) for r in records], total)


def get(rt: Runtime, key: str) -> CatalogueEntry:
    """One entry with every version of its template (oldest first)."""
    with rt.db.read_session() as s:
        record = catalogue_records.procedure_by_key(s, key)
        if record is None:
            raise NotFound("no procedure '%(key)s' in the catalogue", field="key", key=key)
        versions = tuple(
            TemplateVersion(d.id, d.version, d.status, d.digest, d.published_at)
            for d in catalogue_records.definitions_of(s, key)
        )
        return _entry(record, versions)


def _entry(record, versions: Iterable[TemplateVersion] = ()) -> CatalogueEntry:
    return CatalogueEntry(
        key=record.key,
        code=record.code,
        name=record.name,
        field_code=record.field_code,
        field_name=record.field_name,
        level=record.level,
        legal_limit_days=record.legal_limit_days,
        clock_cutoff=record.clock_cutoff,
        clock_rule=record.clock_rule,
        fees=list(record.fees or []),
        required_documents=list(record.required_documents or []),
        result=record.result,
        legal_basis=list(record.legal_basis or []),
        online_service_level=record.online_service_level,
        sources=list(record.sources or []),
        assumptions=list(record.assumptions or []),
        updated_at=record.updated_at,
        versions=tuple(versions),
        forms=list(record.forms or []),
        retired_at=record.retired_at,
        fees_before_processing=bool(record.fees_before_processing),
    )
