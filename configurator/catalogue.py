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
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from typing import Any
from typing import Iterable
from typing import Mapping

from configurator import library
from engine.domain import deadlines
from engine.domain.errors import NotFound
from engine.domain.errors import Problems
from engine.services.runtime import Runtime
from engine.store import catalogue_records

LEVELS = {"province": "province", "commune": "commune", "tinh": "province", "cap tinh": "province",
          "xa": "commune", "cap xa": "commune"}
ONLINE_LEVELS = {"full": "full", "partial": "partial", "toan trinh": "full", "mot phan": "partial"}
KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,119}$")
CODE_PATTERN = re.compile(r"^[0-9]\.[0-9]{6}(\.[A-Za-z0-9]+)?$")
CUTOFF_PATTERN = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
CSV_COLUMNS = ("key", "code", "name", "field_code", "field_name", "level", "legal_limit_days", "clock_cutoff",
               "fees", "required_documents", "result", "legal_basis", "online_service_level")
CSV_REQUIRED = ("key", "name", "level")
HOURS_PER_DAY = 8


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row: row 1 is the first entry (JSON) or the header line (CSV)."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"


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

    @property
    def same_day(self) -> bool:
        """Settled on the day the clock starts ("giải quyết trong ngày"); stored as 0 days."""
        return self.legal_limit_days is not None and deadlines.is_same_day(round(self.legal_limit_days * HOURS_PER_DAY * 60))

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

def import_json(rt: Runtime, data: Mapping | list) -> list[str]:
    """Upsert one entry or a list of entries in the processes/*/procedure.json format; returns keys.

    Rows are numbered from 1 in the order given. Raises CatalogueError (nothing written) when any
    entry is bad.
    """
    entries = [data] if isinstance(data, Mapping) else list(data)
    problems: list[Problem] = []
    rows = [_row_from_json(number, entry, problems) for number, entry in enumerate(entries, start=1)]
    return _write(rt, rows, problems)


def import_csv(rt: Runtime, text: str) -> list[str]:
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
    - ``result``; ``legal_basis``: ``"; "``-separated texts;
    - ``online_service_level``: ``full``, ``partial`` (``toàn trình`` / ``một phần``) or empty.

    Problems name the line of the file (the header is row 1, the first entry row 2). Raises
    CatalogueError (nothing written) when any row is bad.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    problems = [Problem(1, name, "required column is missing") for name in CSV_REQUIRED if name not in header]
    problems += [Problem(1, name, "unknown column") for name in header if name not in CSV_COLUMNS]
    if problems:
        raise CatalogueError(problems)
    rows = []
    for record in reader:
        number = reader.line_num
        values = {k: (v or "").strip() for k, v in record.items() if k in CSV_COLUMNS}
        if not any(values.values()):
            continue  # a blank line at the end of a spreadsheet export
        rows.append(_row_from_csv(number, values, problems))
    return _write(rt, rows, problems)


def load_library(rt: Runtime) -> list[str]:
    """Import the catalogue entry of every procedure shipped in processes/."""
    return import_json(rt, [procedure.catalogue for procedure in library.procedures()])


def _write(rt: Runtime, rows: list[dict | None], problems: list[Problem]) -> list[str]:
    _refuse_duplicate_keys(rows, problems)
    if problems:
        raise CatalogueError(sorted(problems, key=lambda p: p.row))
    now = rt.clock.now()
    good = [{**row, "updated_at": now, "search_text": _search_text(row),
             "field_search": normalise(row.get("field_name")) or None} for row in rows]
    with rt.db.session() as s:
        catalogue_records.upsert_procedures(s, [{k: v for k, v in row.items() if k != "_row"} for row in good])
    return [row["key"] for row in good]


def _refuse_duplicate_keys(rows, problems) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        if row is None or not row.get("key"):
            continue
        if row["key"] in seen:
            problems.append(Problem(row["_row"], "key", f"{row['key']!r} repeats row {seen[row['key']]}"))
        seen.setdefault(row["key"], row["_row"])


def _row_from_json(number: int, entry: Any, problems: list[Problem]) -> dict | None:
    if not isinstance(entry, Mapping):
        problems.append(Problem(number, "entry", "is not an object"))
        return None
    check = _Checker(number, problems)
    field = entry.get("field") or {}
    clock = entry.get("clock_start") or {}
    if not isinstance(field, Mapping) or not isinstance(clock, Mapping):
        check.fail("field" if not isinstance(field, Mapping) else "clock_start", "must be an object")
        field, clock = {}, {}
    row = _common(check, entry, field.get("code"), field.get("name"), clock.get("cutoff"))
    row["clock_rule"] = check.text("clock_start.rule", clock.get("rule"))
    row["fees"] = check.list_of("fees", entry.get("fees"), _json_fee)
    row["fees_before_processing"] = entry.get("fees_before_processing") is True
    row["required_documents"] = check.list_of("required_documents", entry.get("required_documents"), _json_document)
    row["legal_basis"] = check.list_of("legal_basis", entry.get("legal_basis"), _json_text)
    row["sources"] = check.list_of("sources", entry.get("sources"), _json_object)
    row["assumptions"] = check.list_of("assumptions", entry.get("assumptions"), _json_object)
    return row if check.ok else None


def _row_from_csv(number: int, values: Mapping[str, str], problems: list[Problem]) -> dict | None:
    check = _Checker(number, problems)
    row = _common(check, values, values.get("field_code"), values.get("field_name"), values.get("clock_cutoff"))
    row["clock_rule"] = None
    row["fees"] = check.parsed("fees", values.get("fees"), _csv_fees)
    row["fees_before_processing"] = False
    row["required_documents"] = check.parsed("required_documents", values.get("required_documents"), _csv_documents)
    row["legal_basis"] = _split(values.get("legal_basis"))
    row["sources"], row["assumptions"] = [], []
    return row if check.ok else None


def _common(check: "_Checker", entry: Mapping, field_code, field_name, cutoff) -> dict:
    """The fields JSON and CSV rows share, checked."""
    return {
        "_row": check.row,
        "key": check.matches("key", entry.get("key"), KEY_PATTERN, "letters, digits and _ . - (a BPMN id)",
                             required=True),
        "code": check.matches("code", entry.get("code"), CODE_PATTERN, "like 1.001193 or 1.000948.H38"),
        "name": check.text("name", entry.get("name"), required=True, limit=500),
        "field_code": check.text("field_code", field_code, limit=40),
        "field_name": check.text("field_name", field_name, limit=300),
        "level": check.choice("level", entry.get("level"), LEVELS, required=True),
        "legal_limit_days": check.days("legal_limit_days", entry.get("legal_limit_days")),
        "clock_cutoff": check.matches("clock_cutoff", cutoff, CUTOFF_PATTERN, "HH:MM, e.g. 15:00"),
        "result": check.text("result", entry.get("result")),
        "online_service_level": check.choice("online_service_level", entry.get("online_service_level"),
                                             ONLINE_LEVELS),
    }


class _Checker:
    """Collects the problems of one row; each method returns the clean value (or None)."""

    def __init__(self, row: int, problems: list[Problem]):
        self.row, self.problems, self.ok = row, problems, True

    def fail(self, name: str, message: str) -> None:
        self.ok = False
        self.problems.append(Problem(self.row, name, message))

    def text(self, name, value, *, required=False, limit=None) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(name, "is required")
            return None
        if not isinstance(value, str):
            self.fail(name, "must be text")
            return None
        if limit and len(value.strip()) > limit:
            self.fail(name, f"is longer than {limit} characters")
            return None
        return value.strip()

    def matches(self, name, value, pattern, expected, *, required=False) -> str | None:
        value = self.text(name, value, required=required)
        if value is not None and not pattern.match(value):
            self.fail(name, f"{value!r} is not {expected}")
            return None
        return value

    def choice(self, name, value, choices: Mapping[str, str], *, required=False) -> str | None:
        value = self.text(name, value, required=required)
        if value is None:
            return None
        chosen = choices.get(normalise(value))
        if chosen is None:
            self.fail(name, f"{value!r} is not one of {', '.join(sorted(set(choices.values())))}")
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
            self.fail(name, f"{value!r} is not a number of working days")
            return None
        if (days * 2) != int(days * 2):
            self.fail(name, f"{value!r}: limits count in half working days")
            return None
        return days

    def list_of(self, name, value, convert) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(name, "must be a list")
            return []
        return [self.parsed(f"{name}[{i}]", item, convert) for i, item in enumerate(value, start=1)]

    def parsed(self, name, value, convert):
        try:
            return convert(value)
        except ValueError as exc:
            self.fail(name, str(exc))
            return None


def _json_text(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be non-empty text")
    return value.strip()


def _json_object(value) -> dict:
    if not isinstance(value, Mapping):
        raise ValueError("must be an object")
    return dict(value)


def _json_fee(value) -> dict:
    fee = _json_object(value)
    _json_text(fee.get("name"))
    amount = fee.get("amount_vnd")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount < 0):
        raise ValueError(f"amount_vnd {amount!r} is not a whole number of đồng")
    return fee


def _json_document(value) -> dict:
    document = _json_object(value)
    _json_text(document.get("name"))
    copies = document.get("copies", 1)
    if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
        raise ValueError(f"copies {copies!r} is not a positive whole number")
    if not isinstance(document.get("original", True), bool):
        raise ValueError("original must be true or false")
    return document


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(";") if part.strip()]


def _csv_fees(text: str | None) -> list[dict]:
    fees = []
    for part in _split(text):
        name, sep, amount = part.rpartition(":")
        digits = re.sub(r"[.,\s]|đ$|vnd$", "", amount.strip().lower())
        if not sep or not name.strip() or not digits.isdigit():
            raise ValueError(f"{part!r} is not 'name: amount' (e.g. 'Lệ phí: 8000')")
        fees.append({"name": name.strip(), "amount_vnd": int(digits), "note": None})
    return fees


def _csv_documents(text: str | None) -> list[dict]:
    documents = []
    for part in _split(text):
        pieces = [p.strip() for p in part.split("|")]
        if len(pieces) != 3 or not pieces[0] or not pieces[1].isdigit() or int(pieces[1]) < 1:
            raise ValueError(f"{part!r} is not 'name|copies|bản chính or bản sao'")
        kind = normalise(pieces[2])
        if kind not in ("ban chinh", "ban sao", "original", "copy"):
            raise ValueError(f"{part!r}: the third part must be 'bản chính' or 'bản sao'")
        documents.append({"name": pieces[0], "copies": int(pieces[1]), "original": kind in ("ban chinh", "original")})
    return documents


# -- reading ------------------------------------------------------------------------------------

def search(rt: Runtime, text: str | None = None, field: str | None = None, level: str | None = None,
           limit: int = 50, offset: int = 0) -> SearchResult:
    """Entries whose name, code or key contain every word of `text`, ignoring case and accents.

    `field` is a field code or a field name (accents ignored); `level` is province or commune.
    """
    words = normalise(text).split()
    chosen_level = LEVELS.get(normalise(level)) if level else None
    if level and chosen_level is None:
        return SearchResult([], 0)
    with rt.db.read_session() as s:
        records, total = catalogue_records.search_procedures(
            s, words=[w for w in words], field=field, field_search=normalise(field) or None, level=chosen_level,
            limit=max(0, min(limit, 500)), offset=max(0, offset))
        return SearchResult([_entry(r) for r in records], total)


def get(rt: Runtime, key: str) -> CatalogueEntry:
    """One entry with every version of its template (oldest first)."""
    with rt.db.read_session() as s:
        record = catalogue_records.procedure_by_key(s, key)
        if record is None:
            raise NotFound("no procedure '%(key)s' in the catalogue", field="key", key=key)
        versions = tuple(TemplateVersion(d.id, d.version, d.status, d.digest, d.published_at)
                         for d in catalogue_records.definitions_of(s, key))
        return _entry(record, versions)


def _entry(record, versions: Iterable[TemplateVersion] = ()) -> CatalogueEntry:
    return CatalogueEntry(
        key=record.key, code=record.code, name=record.name, field_code=record.field_code,
        field_name=record.field_name, level=record.level, legal_limit_days=record.legal_limit_days,
        clock_cutoff=record.clock_cutoff, clock_rule=record.clock_rule, fees=list(record.fees or []),
        required_documents=list(record.required_documents or []), result=record.result,
        legal_basis=list(record.legal_basis or []), online_service_level=record.online_service_level,
        sources=list(record.sources or []), assumptions=list(record.assumptions or []),
        updated_at=record.updated_at, versions=tuple(versions),
        fees_before_processing=bool(record.fees_before_processing),
    )
