"""Reception asks nothing twice: when the officer types the applicant's ID number, the form is
filled from the population database (through the province's integration platform) and from the
citizen's data store (their last dossier's details), and each checklist item the store already
holds is marked "đã có trong kho dữ liệu" and linked to the new dossier instead of being asked for.

Nothing the population database answers is kept here: it fills the form, and only what the officer
saves becomes part of the dossier."""

from __future__ import annotations

from flask import render_template
from flask import request
from flask_babel import gettext
from flask_login import current_user

from engine import population
from engine.domain import citizen_store as rules
from engine.domain.errors import EngineError
from engine.services import citizen_store
from engine.store import catalogue_records
from engine.store import queries
from web.desk import bp
from web.refusals import localised
from web.security import roles_required
from web.wiring import runtime

FILLED = ("applicant_name", "phone", "address")
reception_required = roles_required(lambda u: u.is_clerk and "mot_cua" in u.roles)


def store_matches(entry, id_number: str) -> dict[int, rules.Held]:
    """The checklist items (by position) the citizen's store answers; none without a valid number."""
    if entry is None or not rules.is_personal_id(id_number):
        return {}
    holding = citizen_store.holding(runtime(), id_number, current_user.actor())
    return rules.matches([d.get("name") or "" for d in entry.required_documents or []], holding.documents)


@bp.get("/tiep-nhan/cong-dan", endpoint="reception_citizen")
@reception_required
def reception_citizen():
    """htmx: what is known of the citizen by their number: the applicant's empty fields filled
    (what the officer typed stays), and each checklist item's store mark (ticks and files stay)."""
    id_number = (request.args.get("id_number") or "").strip()
    typed = {name: (request.args.get(name) or "").strip() for name in FILLED}
    if not rules.is_personal_id(id_number):
        return render_template(
            "desk/_citizen_known.html",
            note=gettext("Nhập đủ 12 chữ số của số định danh cá nhân để điền sẵn thông tin đã có."),
            values=None,
        )
    rt = runtime()
    holding = citizen_store.holding(rt, id_number, current_user.actor())
    resident, problem = _resident(id_number)
    known = {
        "applicant_name": (resident.full_name if resident else None) or holding.details.get("name"),
        "phone": holding.details.get("phone"),
        "address": (resident.permanent_address if resident else None) or holding.details.get("address"),
    }
    values = {name: typed[name] or known[name] or "" for name in FILLED}
    filled = {name for name in FILLED if not typed[name] and known[name]}
    with rt.db.read_session() as s:
        entry = _entry_for(s, request.args.get("definition_id"))
    held = (
        rules.matches([d.get("name") or "" for d in entry.required_documents or []], holding.documents) if entry else {}
    )
    return render_template(
        "desk/_citizen_known.html",
        values=values,
        filled=filled,
        resident=resident,
        problem=problem,
        holding=holding,
        entry=entry,
        held=held,
        note=None,
    )


def _entry_for(session, definition_id: str | None):
    if not (definition_id or "").isdigit():
        return None
    definition = next((d for d in queries.newest_published_per_template(session) if d.id == int(definition_id)), None)
    return catalogue_records.procedure_by_key(session, definition.key) if definition else None


def reused_from_form(form, entry) -> dict[int, int]:
    """{checklist index: kept document id} the officer left ticked (reuse_<n>); malformed ones ignored
    (the store checks every id against the applicant anyway)."""
    count = len(entry.required_documents or []) if entry is not None else 0
    found = {}
    for index in range(count):
        value = (form.get(f"reuse_{index}") or "").strip()
        if value.isdigit() and len(value) < 12:
            found[index] = int(value)
    return found


def _resident(id_number: str):
    """(the population database's answer or None, the reason it could not be asked or None)."""
    rt = runtime()
    try:
        with rt.db.read_session() as s:
            registry = population.registry_for(rt.calendars.chain(s, current_user.unit_code))
        return (registry.look_up(id_number) if registry else None), None
    except EngineError as error:
        return None, gettext("Không tra cứu được Cơ sở dữ liệu quốc gia về dân cư: %(reason)s", reason=localised(error))
