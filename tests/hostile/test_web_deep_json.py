"""Attack: JSON nested 100,000 deep (the parser recursed until it gave a 5xx). Outcome: 422 before
any parsing, quickly, whatever the nesting is made of; honest nesting still works."""

from __future__ import annotations

import time

from tests.hostile.web_fixtures import bearer
from tests.hostile.web_fixtures import desk_token  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_app  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_client  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_rt  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import start_body
from web.guards import json_depth


def test_json_nested_a_hundred_thousand_deep_is_refused_at_once(hostile_client, desk_token):
    for opening, closing in (("[", "]"), ('{"a":', "}")):
        body = opening * 100_000 + "1" + closing * 100_000
        started = time.perf_counter()
        answer = hostile_client.post(
            "/api/v1/work-items/1/complete", data=body, content_type="application/json", headers=bearer(desk_token)
        )
        assert answer.status_code == 422 and "32" in answer.json["message"]
        assert time.perf_counter() - started < 2


def test_nesting_inside_form_data_is_refused_but_brackets_inside_text_are_not(hostile_client, desk_token):
    nested: object = "x"
    for _ in range(40):
        nested = {"x": nested}
    assert (
        hostile_client.post(
            "/api/v1/work-items/1/complete", json={"data": nested}, headers=bearer(desk_token)
        ).status_code
        == 422
    )
    brackets = start_body(applicant={"name": "Nguyễn Văn An", "address": "[[[[" * 100 + '\\"{{{'})
    answer = hostile_client.post("/api/v1/dossiers", json=brackets, headers=bearer(desk_token))
    assert answer.status_code == 201, answer.json


def test_depth_counts_only_brackets_outside_strings():
    assert json_depth(b'{"a": [1, {"b": "[[[[\\"]]"}]}') == 3
    assert json_depth(b'"[[["') == 0
