"""Errors the engine raises to its callers; each carries a message a user can act on.

A message is English. Where it names values it is a template with %(name)s placeholders and the
values come as keyword arguments: `InvalidAction("dossier %(code)s is %(state)s", code=..., state=...)`.
`message` is the English text (logs, CLI, API); `template` and `params` let a caller show it in
the reader's language (the web's catalogue web/translations/vi/LC_MESSAGES/engine.po, whose
msgids are these templates; tests/web/test_engine_messages.py checks every one is translated).
"""

from __future__ import annotations

from dataclasses import dataclass


def english(template: str) -> str:
    """Marks a message template written away from the error that carries it, so that it is
    extracted for translation like the ones written in `raise SomeError("...")`."""
    return template


@dataclass(frozen=True)
class Reason:
    """Why something is refused, before it is decided which error carries it; may itself be the
    value of another message's placeholder (a translator translates both)."""

    template: str
    params: dict

    @classmethod
    def of(cls, template: str, **params) -> Reason:
        return cls(template, params)

    @property
    def message(self) -> str:
        return self.template % self.params if self.params else self.template

    def __str__(self) -> str:
        return self.message


class EngineError(Exception):
    """Base of every error the engine reports to a user."""

    def __init__(self, message: str, *, element_id: str | None = None, field: str | None = None, **params):
        self.template = message
        self.params = params
        self.message = message % params if params else message
        super().__init__(self.message)
        self.element_id = element_id
        self.field = field

    @classmethod
    def because(cls, reason: Reason, **kwargs) -> EngineError:
        return cls(reason.template, **reason.params, **kwargs)


class Problems(EngineError):
    """Refused for several reasons at once (an import, a table, overrides, a migration): every one
    is in `problems` (Reasons, or anything printable), so the user fixes them all in one go."""

    heading = ""
    separator = "; "

    def __init__(self, problems: list):
        super().__init__(self.heading + self.separator.join(str(p) for p in problems))
        self.problems = list(problems)


def refuse(refusal: EngineError | None) -> None:
    """Raise what a rule returned when it refuses (rules return None when they accept)."""
    if refusal is not None:
        raise refusal


class NotFound(EngineError):
    pass


class ConflictError(EngineError):
    """Someone else changed the same dossier or work item first (HTTP 409)."""


class LostRace(ConflictError):
    """The change's write found its row changed since it was read (an optimistic-lock miss). The
    use case is run again from a fresh read (engine.services.unit_of_work.retried_on_race): only if
    what the person acted on changed meanwhile does it end as a conflict."""


class InvalidAction(EngineError):
    """The action is not allowed in the current state (HTTP 409/422)."""


class PermissionDenied(EngineError):
    pass


class TemplateError(EngineError):
    """A BPMN template is malformed or unsafe; names the element id or line."""

    def __init__(
        self,
        message: str,
        *,
        element_id: str | None = None,
        line: int | None = None,
        file_name: str | None = None,
        **params,
    ):
        super().__init__(message, element_id=element_id, **params)
        self.line = line
        self.file_name = file_name

    def to_dict(self) -> dict:
        return {"message": self.message, "element_id": self.element_id, "line": self.line, "file": self.file_name}


class ExpressionError(EngineError):
    """An expression in a template was refused or failed while a dossier ran."""
