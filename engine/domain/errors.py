"""Errors the engine raises to its callers; each carries a message a user can act on."""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine reports to a user."""

    def __init__(self, message: str, *, element_id: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.element_id = element_id
        self.field = field


class NotFound(EngineError):
    pass


class ConflictError(EngineError):
    """Someone else changed the same dossier or work item first (HTTP 409)."""


class InvalidAction(EngineError):
    """The action is not allowed in the current state (HTTP 409/422)."""


class PermissionDenied(EngineError):
    pass


class TemplateError(EngineError):
    """A BPMN template is malformed or unsafe; names the element id or line."""

    def __init__(self, message: str, *, element_id: str | None = None, line: int | None = None,
                 file_name: str | None = None):
        super().__init__(message, element_id=element_id)
        self.line = line
        self.file_name = file_name

    def to_dict(self) -> dict:
        return {"message": self.message, "element_id": self.element_id, "line": self.line,
                "file": self.file_name}


class ExpressionError(EngineError):
    """An expression in a template was refused or failed while a dossier ran."""
