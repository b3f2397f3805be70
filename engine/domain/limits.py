"""How long the free texts people type may be: the same bound on the desk's forms and the API's
bodies (web/api/schemas.py states it in the OpenAPI document), so a reason printed on a slip or
a notice fits on it and no one stores a novel in the audit trail."""

from __future__ import annotations

from engine.domain.errors import InvalidAction

#: A reason (return, reassignment, apology letter, stop notice) or a note, in characters.
REASON_MAX = 2000


def check_reason_length(reason: str | None, field: str = "reason") -> None:
    if len(reason or "") > REASON_MAX:
        raise InvalidAction("the reason is longer than %(limit)s characters", field=field, limit=REASON_MAX)
