"""What each connector does when a worker runs a service task (engine/domain/connectors.py says
what their parameters must be).

A connector runs outside any transaction (an HTTP call may take its whole timeout) and returns
its result for the task's data, plus, when it has one, an effect to write in the transaction that
completes the task (a queued message), so the effect and the dossier's move commit together.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from engine.bpmn.script_env import step_time_limit
from engine.domain import connectors
from engine.domain.errors import EngineError
from engine.services import outbox
from engine.services import portal_sync
from engine.services.runtime import Runtime
from engine.store import catalogue_records
from engine.store import service_call_records
from engine.store.database import Session
from engine.store.records import DossierRecord

DEFAULT_TIMEOUT_SECONDS = 10
MAX_RESPONSE_BYTES = 100_000


class ConnectorFailed(EngineError):
    """The call failed and may succeed later (network, server error): retried with backoff."""


class ConnectorRefused(EngineError):
    """The call can never succeed as written (a host off the allow-list, a bad parameter): an
    incident opens at once, naming the service task."""


@dataclass(frozen=True)
class Call:
    """What a connector gets: its parameters, the dossier it serves and the waiting task."""

    call_id: int
    dossier_id: int
    dossier_code: str
    element_id: str
    connector: str
    params: dict
    procedure_key: str  # the template's process id = the catalogue entry's key
    applicant_name: str
    applicant: dict
    task: object  # the STARTED SpiffWorkflow task, loaded for this call (never saved from here)
    decisions: dict  # the template's decision tables (DMNEngine by decision id)


@dataclass(frozen=True)
class Outcome:
    result: object
    effect: Callable[[Session, object], None] | None = None  # (session, now) inside the completion


def run(rt: Runtime, call: Call) -> Outcome:
    problems = connectors.call_problems(call.connector, call.params)
    if problems:
        name, problem = problems[0]
        if name is None:
            raise ConnectorRefused(
                "connector %(connector)s: %(problem)s",
                connector=call.connector,
                problem=problem,
                element_id=call.element_id,
            )
        raise ConnectorRefused(
            "connector %(connector)s: parameter '%(parameter)s' %(problem)s",
            connector=call.connector,
            parameter=name,
            problem=problem,
            element_id=call.element_id,
        )
    return RUNNERS[call.connector](rt, call)


# -- http -----------------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead off the allow-list: it is reported, never followed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise ConnectorRefused(
            "the server answered with a redirect to %(url)s; redirects are not followed", url=newurl[:200]
        )


_OPENER = urllib.request.build_opener(_NoRedirects)


def _http(rt: Runtime, call: Call) -> Outcome:
    params = call.params
    host = connectors.host_of(params["url"])
    with rt.db.read_session() as s:
        allowed = service_call_records.is_allowed(s, host)
    if not allowed:
        raise ConnectorRefused(
            "host %(host)s is not on the administrator's allow-list of the http connector",
            host=host,
            element_id=call.element_id,
        )
    method = params.get("method") or ("POST" if params.get("body") is not None else "GET")
    body = json.dumps(params["body"], ensure_ascii=False).encode("utf-8") if params.get("body") is not None else None
    request = urllib.request.Request(
        params["url"],
        data=body,
        method=method,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Motcua-Dossier": call.dossier_code,
        },
    )
    try:
        with _OPENER.open(request, timeout=params.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS) as answer:
            raw = answer.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise ConnectorFailed("%(host)s answered HTTP %(status)s", host=host, status=exc.code) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ConnectorFailed(
            "calling %(host)s failed: %(error)s", host=host, error=str(getattr(exc, "reason", exc))[:200]
        ) from None
    if len(raw) > MAX_RESPONSE_BYTES:
        raise ConnectorRefused("%(host)s answered more than %(limit)s bytes", host=host, limit=MAX_RESPONSE_BYTES)
    return Outcome(_mapped(_json(raw, host), params.get("fields")))


def _json(raw: bytes, host: str):
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise ConnectorFailed("%(host)s did not answer JSON", host=host) from None


def _mapped(answer, fields: dict | None):
    """The answer, or only the named fields of it (task data name -> dotted key path)."""
    if not fields:
        return answer
    mapped = {}
    for name, path in fields.items():
        value = answer
        for key in str(path).split("."):
            value = value.get(key) if isinstance(value, dict) else None
        mapped[name] = value
    return mapped


# -- compute_fee ----------------------------------------------------------------------------------


def _compute_fee(rt: Runtime, call: Call) -> Outcome:
    decision = call.params.get("decision")
    if decision:
        engine = call.decisions.get(decision)
        if engine is None:
            raise ConnectorRefused("decision table %(decision)s is not part of the template", decision=decision)
        with step_time_limit():
            outcome = engine.result(call.task)
        amount = outcome.get("amount_vnd", outcome.get("le_phi_vnd"))
        return Outcome(
            {
                "fees": [{"name": decision, "amount_vnd": amount, "note": "bảng quyết định"}],
                "total_vnd": amount,
                **outcome,
            }
        )
    with rt.db.read_session() as s:
        entry = catalogue_records.procedure_by_key(s, call.procedure_key)
    fees = list((entry.fees if entry is not None else None) or [])
    wanted = call.params.get("fee")
    if wanted:
        fees = [f for f in fees if f.get("name") == wanted]
        if not fees:
            raise ConnectorRefused("the procedure's catalogue has no fee named %(fee)s", fee=wanted)
    total = sum(f.get("amount_vnd") or 0 for f in fees)
    return Outcome({"fees": fees, "total_vnd": total})


# -- notify_applicant -----------------------------------------------------------------------------


def applicant_address(applicant: dict, channel: str | None) -> tuple[str, str] | None:
    """(channel, recipient): the channel asked for, else the one the applicant chose, else SMS to
    their phone, else e-mail."""
    phone, email = applicant.get("phone") or applicant.get("so_dien_thoai"), applicant.get("email")
    chosen = channel or applicant.get("notify_channel") or applicant.get("channel")
    by_channel = {"sms": phone, "email": email, "in_app": applicant.get("username")}
    if chosen in by_channel:
        return (chosen, by_channel[chosen]) if by_channel[chosen] else None
    if phone:
        return "sms", phone
    return ("email", email) if email else None


def _notify_applicant(rt: Runtime, call: Call) -> Outcome:
    address = applicant_address(call.applicant or {}, call.params.get("channel"))
    if address is None:
        raise ConnectorRefused(
            "the applicant of %(dossier)s gave no address for channel %(channel)s",
            dossier=call.dossier_code,
            channel=call.params.get("channel") or "sms/email",
        )
    channel, recipient = address
    subject = call.params.get("subject") or f"Hồ sơ {call.dossier_code}"

    def enqueue(session: Session, now) -> None:
        outbox.enqueue(
            session,
            key=f"service:{call.call_id}",
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=call.params["message"],
            now=now,
            dossier_id=call.dossier_id,
        )

    return Outcome({"channel": channel, "recipient": recipient}, enqueue)


# -- sync_portal ----------------------------------------------------------------------------------


def _sync_portal(rt: Runtime, call: Call) -> Outcome:
    """The dossier's state goes to the portal through its outbox (delivered by the worker, in order
    with the dossier's other events), as of the end of the transaction that completes the task.
    A province not connected to the portal has nothing to tell: the step passes, as the automatic
    events do there."""
    with rt.db.read_session() as s:
        dossier = s.get(DossierRecord, call.dossier_id)
        setting, unit = portal_sync.setting_of_unit(s, dossier.unit_code)
        if setting is None:
            return Outcome({"queued": False, "reason": "the province is not connected to the portal"})
        portal_code = portal_sync.dossier_portal_code(setting, unit, dossier)
    step = getattr(call.task.task_spec, "bpmn_name", None) or call.element_id
    note = call.params.get("note") or step

    def queue(session: Session, now) -> None:
        portal_sync.request_sync(session, call.dossier_id, step=step, note=note)

    return Outcome({"queued": True, "portal_code": portal_code}, queue)


RUNNERS: dict[str, Callable[[Runtime, Call], Outcome]] = {
    "http": _http,
    "compute_fee": _compute_fee,
    "notify_applicant": _notify_applicant,
    "sync_portal": _sync_portal,
}
