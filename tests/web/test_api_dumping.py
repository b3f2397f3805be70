"""The API's answers dumped by a plan (web.api.dumping) are the ones marshmallow's Schema.dump gives:
the same keys in the same order and the same values, whatever the payload holds."""

from __future__ import annotations

import datetime as dt
import enum

import marshmallow as ma
import pytest
from marshmallow import fields

from web.api import schemas
from web.api.dumping import dumper
from web.display import LOCAL_TZ

AT = dt.datetime(2026, 3, 2, 8, 30, 15, 123456, tzinfo=LOCAL_TZ)


class Channel(str, enum.Enum):
    COUNTER = "counter"


class Stamp(dt.datetime):
    """A datetime of another class (as a driver may give)."""


def step(**changes) -> dict:
    base = {
        "id": 7,
        "dossier_code": "000.00.07.H01-260302-0001",
        "element_id": "tham_dinh",
        "name": "Thẩm định",
        "role": "chuyen_vien",
        "unit_code": "00070",
        "state": "claimed",
        "assignee": "can_bo",
        "owner": None,
        "delegation_state": None,
        "priority": 0,
        "form_key": None,
        "created_at": AT,
        "claimed_at": AT,
        "warn_at": None,
        "due_at": AT + dt.timedelta(days=3),
        "version": 2,
    }
    return {**base, **changes}


def dossier(**changes) -> dict:
    base = {
        "code": "000.00.07.H01-260302-0001",
        "status": 2,
        "status_label": "Đang xử lý",
        "run_state": "running",
        "template": {"definition_id": 3, "key": "five_steps", "version": 1, "name": "Năm bước"},
        "procedure_code": None,
        "unit_code": "00070",
        "applicant_name": "Nguyễn Văn A",
        "applicant": {"name": "Nguyễn Văn A", "notify": ["sms"]},
        "received_at": AT,
        "appointment_at": AT + dt.timedelta(days=5),
        "original_appointment_at": AT + dt.timedelta(days=5),
        "re_appointment_reason": None,
        "completed_at": None,
        "classification": None,
        "margin_minutes": None,
        "channel": "counter",
        "current_steps": [step(), step(id=8, assignee=None, state="open", claimed_at=None)],
    }
    return {**base, **changes}


PAYLOADS = {
    "a running dossier": (schemas.DossierSchema, dossier()),
    "a dossier with no open step": (schemas.DossierSchema, dossier(current_steps=[], completed_at=AT)),
    "values of other types than the fields give": (
        schemas.DossierSchema,
        dossier(
            channel=Channel.COUNTER, status=True, margin_minutes=-15, received_at=Stamp(2026, 3, 2, 8, tzinfo=LOCAL_TZ)
        ),
    ),
    "keys the payload lacks": (schemas.DossierSchema, {"code": "X", "template": None, "current_steps": None}),
    "a claimed step": (schemas.WorkItemSchema, step()),
    "a step without its times": (schemas.WorkItemSchema, step(created_at=None, due_at=None, priority=None)),
}


@pytest.mark.parametrize("schema_class, payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_planned_dump_answers_what_marshmallow_answers(schema_class, payload):
    schema = schema_class()
    expected = schema.dump(payload)

    answered = dumper(schema)(payload)

    assert answered == expected
    assert key_orders(answered) == key_orders(expected)


def key_orders(answer: dict) -> list[list[str]]:
    """The keys of the answer and of each of its steps, in order."""
    return [list(answer), *(list(step) for step in answer.get("current_steps") or [])]


def test_an_object_that_is_not_a_dict_is_dumped_by_marshmallow():
    class Row:
        code = "X"
        status = 1

    schema = schemas.DossierSchema()

    assert dumper(schema)(Row()) == schema.dump(Row())


def test_fields_with_a_behaviour_of_their_own_keep_it():
    class Odd(ma.Schema):
        renamed = fields.String(data_key="shown")
        from_elsewhere = fields.Integer(attribute="source")
        defaulted = fields.String(dump_default="none given")
        as_text = fields.Integer(as_string=True)
        computed = fields.Function(lambda obj: obj["as_text"] * 2)
        deep = fields.String(attribute="inner.value")

    payload = {"renamed": "a", "source": 3, "as_text": 4, "inner": {"value": "b"}}
    schema = Odd()

    expected = {
        "shown": "a",
        "from_elsewhere": 3,
        "defaulted": "none given",
        "as_text": "4",
        "computed": 8,
        "deep": "b",
    }

    assert schema.dump(payload) == expected
    assert dumper(schema)(payload) == expected


def test_a_schema_with_dump_hooks_is_dumped_by_marshmallow():
    class Hooked(ma.Schema):
        name = fields.String()

        @ma.post_dump
        def shout(self, data, **kwargs):
            return {key: value.upper() for key, value in data.items()}

    schema = Hooked()

    assert dumper(schema)({"name": "a"}) == {"name": "A"}
