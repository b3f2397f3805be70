"""An output schema's dump planned once per schema, for the answers every change sends.

marshmallow's Schema.dump walks the same generic path for every field on every call (the field's
serialize, its get_value, the schema's accessor, the key lookup, then the field's own formatting):
about a hundred Python calls for one step's 17 fields, 5-7% of a claim request's CPU. The plan
here looks a value up once, passes through a value whose type already is the field's output
(a str for a String, an int for an Integer, ...) inside the dump's own loop, without a call of
its own per field, and formats a datetime itself. Anything else --
a value of another type, a key the payload lacks, a field or schema with behaviour of its own
(defaults, hooks, dotted attributes, other field classes) -- goes through marshmallow itself,
so the answer is the one Schema.dump gives (tests/web/test_api_dumping.py compares them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields
from marshmallow.decorators import POST_DUMP
from marshmallow.decorators import PRE_DUMP
from marshmallow.utils import missing

Serialize = Callable[[Any, str, Any], Any]  # (value, field name, whole object) -> output
#: Field classes whose output is the value itself when the value already has this exact type.
_PASS_THROUGH: dict[type[fields.Field], type] = {fields.String: str, fields.Integer: int, fields.Boolean: bool}
_ISO_FORMATS = frozenset({"iso", "iso8601"})


def dumper(schema: ma.Schema) -> Callable[[Any], Any]:
    """`schema.dump` for one object, planned once; the schema's own dump when it cannot be planned."""
    if not _plannable(schema):
        return schema.dump
    plan = tuple(_step(name, field, schema) for name, field in schema.dump_fields.items())

    def dump(obj):
        if type(obj) is not dict:
            return schema.dump(obj)
        out = {}
        for key, name, attribute, passing, convert, by_marshmallow in plan:
            value = obj.get(attribute, missing) if attribute is not None else missing
            if value is missing:
                value = by_marshmallow(obj)
            elif value is not None and type(value) is not passing:
                value = convert(value, name, obj)
            if value is not missing:
                out[key] = value
        return out

    return dump


def _plannable(schema: ma.Schema) -> bool:
    return (
        not schema.many
        and not schema._hooks[PRE_DUMP]
        and not schema._hooks[POST_DUMP]
        and type(schema).get_attribute is ma.Schema.get_attribute
        and schema.dict_class is dict
    )


#: A field's step: its output key, its name, the payload's key to read (None: marshmallow reads
#: it), the type a present value passes through as it is (None passes too), how any other present
#: value is formatted, and marshmallow's own serialization of the field from the whole object.
Step = tuple[str, str, str | None, type, Serialize, Callable[[dict], Any]]


def _step(name: str, field: fields.Field, schema: ma.Schema) -> Step:
    key = field.data_key if field.data_key is not None else name
    attribute = field.attribute or name

    def by_marshmallow(obj):
        return field.serialize(name, obj, accessor=schema.get_attribute)

    fast = _serializer(field)
    if fast is None or "." in attribute or field.dump_default is not missing or not field._CHECK_ATTRIBUTE:
        return key, name, None, _NOTHING_PASSES, field._serialize, by_marshmallow
    passing = _PASS_THROUGH[type(field)] if _passes_through(field) else _NOTHING_PASSES
    return key, name, attribute, passing, fast, by_marshmallow


#: The passing type of a field whose every present value is formatted (None is passed already).
_NOTHING_PASSES: type = type(None)


def _passes_through(field: fields.Field) -> bool:
    return type(field) in _PASS_THROUGH and not getattr(field, "as_string", False)


def _serializer(field: fields.Field) -> Serialize | None:
    """The field's formatting of a value, quicker for the types it is given here; None: none known."""
    kind = type(field)
    if _passes_through(field):
        return _passing(_PASS_THROUGH[kind], field._serialize)
    # isinstance for the type checker; the exact class is what the formatting is known for
    if isinstance(field, fields.DateTime) and kind is fields.DateTime:
        return _iso_datetime(field._serialize) if (field.format or field.DEFAULT_FORMAT) in _ISO_FORMATS else None
    if isinstance(field, fields.Nested) and kind is fields.Nested:
        return _nested(field)
    if isinstance(field, fields.List) and kind is fields.List:
        inner = _serializer(field.inner)
        return _listed(inner) if inner is not None else None
    return None


def _passing(output_type: type, formatted: Serialize) -> Serialize:
    def serialize(value, attr, obj):
        return value if value is None or type(value) is output_type else formatted(value, attr, obj)

    return serialize


def _iso_datetime(formatted: Serialize) -> Serialize:
    def serialize(value, attr, obj):
        if type(value) is dt.datetime:
            return value.isoformat()
        return formatted(value, attr, obj)

    return serialize


def _nested(field: fields.Nested) -> Serialize | None:
    schema = field.schema
    if not _plannable(schema) or field.many:
        return None
    dump = dumper(schema)

    def serialize(value, attr, obj):
        return None if value is None else dump(value)

    return serialize


def _listed(inner: Serialize) -> Serialize:
    def serialize(value, attr, obj):
        return None if value is None else [inner(each, attr, obj) for each in value]

    return serialize
