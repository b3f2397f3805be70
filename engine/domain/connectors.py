"""The named connectors a service task may call, and what their parameters must be.

A template names a connector and gives its parameters as Python expressions
(`spiffworkflow:serviceTaskOperator` / `spiffworkflow:parameter`, docs/bpmn-extensions.md). A
parameter written as a literal is checked when the template is published; one computed from the
dossier's data is checked the same way when the worker runs the connector. Pure rules, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_TIMEOUT_SECONDS = 30
APPLICANT_CHANNELS = ("sms", "email", "in_app")


@dataclass(frozen=True)
class Parameter:
    name: str
    required: bool
    kind: str  # text | url | number | mapping | choice
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class ConnectorSpec:
    name: str
    label: str  # English; the pages show web.admin.connectors.connector_labels()
    parameters: tuple[Parameter, ...]

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)


CONNECTORS: dict[str, ConnectorSpec] = {
    spec.name: spec
    for spec in (
        ConnectorSpec(
            "http",
            "call an HTTP service on a host of the allow-list",
            (
                Parameter("url", True, "url", help="http(s)://host/path; the host must be on the allow-list"),
                Parameter("method", False, "choice", ("GET", "POST")),
                Parameter("body", False, "mapping", help="JSON body sent with POST"),
                Parameter("timeout_seconds", False, "number", help=f"1 to {MAX_TIMEOUT_SECONDS}; default 10"),
                Parameter("fields", False, "mapping", help="task data name -> key (a.b.c) in the JSON answer"),
            ),
        ),
        ConnectorSpec(
            "compute_fee",
            "compute the fees (the catalogue entry's, or a decision table)",
            (
                Parameter("fee", False, "text", help="name of one of the catalogue's fees; default: all of them"),
                Parameter("decision", False, "text", help="a decision table of the template giving the amount"),
            ),
        ),
        ConnectorSpec(
            "notify_applicant",
            "send the applicant a message",
            (
                Parameter("message", True, "text"),
                Parameter("subject", False, "text"),
                Parameter(
                    "channel",
                    False,
                    "choice",
                    APPLICANT_CHANNELS,
                    help="default: the channel the applicant chose, else SMS to the phone, else e-mail",
                ),
            ),
        ),
        ConnectorSpec(
            "sync_portal",
            "push the dossier's current state to the national portal",
            (
                Parameter(
                    "note",
                    False,
                    "text",
                    help="what the portal shows as the handling done (NoiDungXuLy); default: the step's name",
                ),
            ),
        ),
    )
}


def value_problem(parameter: Parameter, value) -> str | None:
    """Why `value` is not acceptable for the parameter, or None."""
    if value is None:
        return None if not parameter.required else "is required"
    if parameter.kind in ("text", "url") and not isinstance(value, str):
        return f"must be text, not {type(value).__name__}"
    if parameter.kind == "url":
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "must be an http:// or https:// address with a host"
    if parameter.kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number, not {type(value).__name__}"
        if parameter.name == "timeout_seconds" and not 1 <= value <= MAX_TIMEOUT_SECONDS:
            return f"must be between 1 and {MAX_TIMEOUT_SECONDS} seconds"
    if parameter.kind == "mapping" and not isinstance(value, dict):
        return f"must be a mapping ({{...}}), not {type(value).__name__}"
    if parameter.kind == "choice" and value not in parameter.choices:
        return f"must be one of {', '.join(parameter.choices)}"
    return None


def call_problems(connector: str, params: dict) -> list[tuple[str | None, str]]:
    """(parameter or None, problem) for a call's evaluated parameters."""
    spec = CONNECTORS.get(connector)
    if spec is None:
        return [(None, f"unknown connector '{connector}' (known: {', '.join(sorted(CONNECTORS))})")]
    problems = [(name, "is not a parameter of this connector") for name in params if spec.parameter(name) is None]
    for parameter in spec.parameters:
        problem = value_problem(parameter, params.get(parameter.name))
        if problem:
            problems.append((parameter.name, problem))
    return problems


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
