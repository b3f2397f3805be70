"""A change's answer as JSON, built inside the change's transaction from the changed row (what an
Idempotency-Key keeps and replays, dumped once by the route's own schema)."""

from __future__ import annotations

from engine.services.dossiers import ClaimedStep
from engine.store import dossier_queries
from engine.store.records import DossierRecord
from web.api import schemas
from web.api.dumping import dumper
from web.api.views_data import dossier_state_payload
from web.wiring import runtime

#: Planned once: a marshmallow schema is costly to build, and its dump field by field on every answer.
_DOSSIER = dumper(schemas.DossierSchema())
_WORK_ITEM = dumper(schemas.WorkItemSchema())


def dossier_reply(s, dossier: DossierRecord) -> dict:
    """The changed dossier with its steps open now: the row itself, its template version from
    memory, its open steps read once."""
    definition = runtime().definition_summary(s, dossier.definition_id)
    open_items = dossier_queries.open_steps(s, dossier.id)
    return _DOSSIER(dossier_state_payload(dossier, definition, open_items))


def claimed_step_reply(s, step: ClaimedStep) -> dict:
    """The claimed or released step, as the change returned it with its dossier's code."""
    return _WORK_ITEM(step._asdict())
