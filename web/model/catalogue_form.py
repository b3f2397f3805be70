"""The catalogue entry form: what the modeller typed, read into the procedure.json format that
imports use (so the web accepts exactly what an import accepts), and the import's problems put
back beside the form's fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from configurator.catalogue import CatalogueEntry
from configurator.catalogue import normalise

BLANK_ROWS = 2  # empty lines offered under the fees, documents and forms already entered
MAX_ROWS = 100
DIGITS = re.compile(r"^[0-9][0-9.,\s]*(d|vnd|dong)?$")  # matched on the normalised text (no accents)


@dataclass
class CatalogueForm:
    """The form's values as typed (strings), its repeated rows, and the errors of each field."""

    values: dict
    fees: list[dict]
    documents: list[dict]
    forms: list[dict]
    errors: dict[str, list[str]] = field(default_factory=dict)

    def padded(self, rows: list[dict]) -> list[dict]:
        return rows + [{} for _ in range(BLANK_ROWS)]


def form_for(entry: CatalogueEntry | None) -> CatalogueForm:
    """The form filled from an entry (or empty for a new one)."""
    if entry is None:
        return CatalogueForm({"level": "commune"}, [], [], [])
    same_day = entry.same_day
    values = {
        "key": entry.key,
        "code": entry.code or "",
        "name": entry.name,
        "field_code": entry.field_code or "",
        "field_name": entry.field_name or "",
        "level": entry.level,
        "legal_limit": "" if same_day or entry.legal_limit_days is None else _days_text(entry.legal_limit_days),
        "same_day": same_day,
        "clock_cutoff": entry.clock_cutoff or "",
        "clock_rule": entry.clock_rule or "",
        "result": entry.result or "",
        "legal_basis": "\n".join(entry.legal_basis),
        "online_service_level": entry.online_service_level or "",
    }
    fees = [
        {
            "name": f.get("name", ""),
            "amount": "" if f.get("amount_vnd") is None else str(f["amount_vnd"]),
            "note": f.get("note") or "",
        }
        for f in entry.fees
    ]
    documents = [
        {
            "name": d.get("name", ""),
            "copies": str(d.get("copies", 1)),
            "original": "1" if d.get("original", True) else "0",
        }
        for d in entry.required_documents
    ]
    forms = [{"code": f.get("code") or "", "name": f.get("name", "")} for f in entry.forms]
    return CatalogueForm(values, fees, documents, forms)


def read_form(data: Mapping[str, str]) -> CatalogueForm:
    """The form as posted (values kept as typed, so a refused form shows them again)."""
    text = {
        name: (data.get(name) or "").strip()
        for name in (
            "key",
            "code",
            "name",
            "field_code",
            "field_name",
            "level",
            "legal_limit",
            "clock_cutoff",
            "clock_rule",
            "result",
            "legal_basis",
            "online_service_level",
        )
    }
    text["legal_basis"] = (data.get("legal_basis") or "").strip()
    text["same_day"] = bool(data.get("same_day"))
    return CatalogueForm(
        text,
        _rows(data, "fee", ("name", "amount", "note")),
        _rows(data, "doc", ("name", "copies", "original")),
        _rows(data, "form", ("code", "name")),
    )


def entry_of(form: CatalogueForm) -> dict:
    """The procedure.json entry the form describes; blank rows are left out."""
    v = form.values
    return {
        "key": v.get("key"),
        "code": v["code"] or None,
        "name": v["name"],
        "field": {"code": v["field_code"] or None, "name": v["field_name"] or None},
        "level": v["level"],
        "legal_limit_days": "same day" if v["same_day"] else (v["legal_limit"] or None),
        "clock_start": {"cutoff": v["clock_cutoff"] or None, "rule": v["clock_rule"] or None},
        "fees": [
            {"name": r["name"], "amount_vnd": _amount(r["amount"]), "note": r["note"] or None}
            for r in _filled(form.fees)
        ],
        "required_documents": [
            {"name": r["name"], "copies": _whole(r["copies"] or "1"), "original": r["original"] != "0"}
            for r in _filled(form.documents)
        ],
        "forms": [{"code": r["code"] or None, "name": r["name"]} for r in _filled(form.forms)],
        "result": v["result"] or None,
        "legal_basis": [line.strip() for line in v["legal_basis"].splitlines() if line.strip()],
        "online_service_level": v["online_service_level"] or None,
    }


#: A problem's field (as the import names it) -> the form's field.
FIELD_NAMES = {
    "legal_limit_days": "legal_limit",
    "clock_start.rule": "clock_rule",
    "entry": "name",
    "field": "field_name",
    "clock_start": "clock_cutoff",
}
ROW_FIELDS = {
    "fees": ("fee", "fees"),
    "required_documents": ("doc", "documents"),
    "forms": ("form", "forms"),
    "legal_basis": (None, None),
}


def place_errors(form: CatalogueForm, problems, message_of) -> None:
    """Each problem beside its field; a row's problem beside its row (`fee-2`, numbered as shown)."""
    for problem in problems:
        form.errors.setdefault(_form_field(form, problem.field), []).append(message_of(problem))


def _form_field(form: CatalogueForm, name: str) -> str:
    match = re.match(r"^(\w+)\[(\d+)\]$", name)
    if not match or match.group(1) not in ROW_FIELDS:
        return FIELD_NAMES.get(name, name)
    prefix, attribute = ROW_FIELDS[match.group(1)]
    if prefix is None:
        return match.group(1)
    filled = [i for i, row in enumerate(getattr(form, attribute)) if _is_filled(row)]
    number = int(match.group(2)) - 1
    return f"{prefix}-{filled[number] if number < len(filled) else number}"


def _rows(data: Mapping[str, str], prefix: str, names: tuple[str, ...]) -> list[dict]:
    rows = []
    for i in range(MAX_ROWS):
        if not any(f"{prefix}-{i}-{name}" in data for name in names):
            break
        rows.append({name: (data.get(f"{prefix}-{i}-{name}") or "").strip() for name in names})
    while rows and not _is_filled(rows[-1]):
        rows.pop()  # the blank lines offered at the end
    return rows


def _is_filled(row: dict) -> bool:
    return any(value for key, value in row.items() if key not in ("original", "copies"))


def _filled(rows: list[dict]) -> list[dict]:
    return [row for row in rows if _is_filled(row)]


def _amount(text: str):
    """'8.000', '8 000 đ' -> 8000; anything else goes as typed, for the import's check to name."""
    if not text:
        return None
    if DIGITS.match(normalise(text)):
        return int(re.sub(r"\D", "", text))
    return text


def _whole(text: str):
    return int(text) if text.isdigit() else text


def _days_text(days: float) -> str:
    return str(int(days)) if days == int(days) else str(days).replace(".", ",")
