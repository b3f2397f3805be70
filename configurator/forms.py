"""Step forms: a JSON-Schema subset (processes/<key>/v<N>/forms/<step>.json) turned into a
marshmallow schema that validates what a clerk submits, naming the field that is wrong."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate

from engine.domain.decisions import DECISION_KEY
from engine.domain.decisions import REFUSAL_DECISIONS
from engine.domain.decisions import SUPPLEMENT_DECISIONS
from engine.domain.errors import EngineError

SUPPORTED_TYPES = {"string", "integer", "number", "boolean"}


class FormError(EngineError):
    """Submitted data does not fit the step's form; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        first = next(iter(errors))
        super().__init__(f"{first}: {'; '.join(errors[first])}", field=first)
        self.errors = errors


class FormDefinitionError(EngineError):
    pass


def _field(name: str, spec: dict, required: bool) -> fields.Field:
    kind, fmt = spec.get("type", "string"), spec.get("format")
    if kind not in SUPPORTED_TYPES:
        raise FormDefinitionError(
            "field '%(field_name)s': type '%(kind)s' is not supported", field=name, field_name=name, kind=kind
        )
    checks = []
    if "enum" in spec:
        checks.append(validate.OneOf(spec["enum"], labels=spec.get("enumNames")))
    if "minLength" in spec or "maxLength" in spec:
        checks.append(validate.Length(min=spec.get("minLength"), max=spec.get("maxLength")))
    if "minimum" in spec or "maximum" in spec:
        checks.append(validate.Range(min=spec.get("minimum"), max=spec.get("maximum")))
    if "pattern" in spec:
        checks.append(validate.Regexp(re.compile(spec["pattern"]), error="does not have the expected form"))
    options = {
        "required": required,
        "validate": checks,
        "allow_none": not required,
        "metadata": {"title": spec.get("title", name)},
    }
    if kind == "boolean":
        return fields.Boolean(**options)
    if kind == "integer":
        return fields.Integer(strict=False, **options)
    if kind == "number":
        return fields.Float(**options)
    if fmt == "date":
        return _IsoText(fields.Date(), **options)
    if fmt == "date-time":
        return _IsoText(fields.DateTime(), **options)
    if fmt == "email":
        return fields.Email(**options)
    return fields.String(**options)


class _IsoText(fields.String):
    """A date or date-time checked as such but kept as ISO text (task data must stay JSON)."""

    def __init__(self, parser: fields.Field, **kwargs):
        super().__init__(**kwargs)
        self.parser = parser

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = self.parser.deserialize(value)
        return parsed.isoformat()


#: Decisions that send the dossier back to the applicant or refuse it: the data the form asks for a
#: dossier going forward (the child's name, the birth date...) is not needed to send them.
SENDS_BACK = SUPPLEMENT_DECISIONS | REFUSAL_DECISIONS


def schema_for(form: dict, sends_back: bool = False) -> Schema:
    required = set(form.get("required", ()))
    unknown = required - set(form.get("properties", {}))
    if unknown:
        raise FormDefinitionError(
            "required fields missing from properties: %(fields)s", fields=", ".join(sorted(unknown))
        )
    if sends_back:
        required &= {DECISION_KEY}
    declared = {name: _field(name, spec, name in required) for name, spec in form.get("properties", {}).items()}
    return Schema.from_dict(declared, name=form.get("title", "Form"))()


@lru_cache(maxsize=4096)
def _cached_schema(form_json: str, sends_back: bool) -> Schema:
    return schema_for(json.loads(form_json), sends_back)


def validate_submission(form: dict, data: dict[str, Any]) -> dict[str, Any]:
    """Clean data for the step, or FormError naming every wrong field. Unknown fields are refused.
    A decision that sends the dossier back or refuses it needs only the decision among the
    required fields (a refusal's reason is the engine's rule, engine.domain.decisions)."""
    sends_back = isinstance(data.get(DECISION_KEY), str) and data[DECISION_KEY] in SENDS_BACK
    schema = _cached_schema(json.dumps(form, sort_keys=True), sends_back)
    try:
        return schema.load(data)
    except ValidationError as exc:
        errors = {
            field: [str(m) for m in (messages if isinstance(messages, list) else [messages])]
            for field, messages in exc.messages.items()
        }
        raise FormError(errors) from None


def field_list(form: dict) -> list[dict]:
    """What a page needs to render the form, in declaration order."""
    required = set(form.get("required", ()))
    return [
        {
            "name": name,
            "title": spec.get("title", name),
            "type": spec.get("type", "string"),
            "format": spec.get("format"),
            "required": name in required,
            "options": list(zip(spec["enum"], spec.get("enumNames", spec["enum"]))) if "enum" in spec else None,
            "max_length": spec.get("maxLength"),
        }
        for name, spec in form.get("properties", {}).items()
    ]
