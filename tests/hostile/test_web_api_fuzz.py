"""Attack: whatever a client can put in a JSON body, a query string or a path id of /api/v1 (huge
and negative numbers, NUL and other control characters, deep and odd shapes, the right field
names with the wrong values). Outcome: never a server error, on SQLite and PostgreSQL; every
refusal is JSON. `make fuzz` runs schemathesis against a served app for the long version."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter

from tests.hostile.web_fixtures import bearer
from tests.hostile.web_fixtures import desk_token  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_app  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_client  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_rt  # noqa: F401  (fixture)

FIELDS = [
    "template_key",
    "definition_id",
    "unit_code",
    "applicant",
    "received_at",
    "channel",
    "new_appointment",
    "reason",
    "withdrawn",
    "data",
    "version",
    "to",
    "note",
    "name",
    "id_number",
    "phone",
    "email",
    "address",
]
QUERY_NAMES = ["q", "field", "level", "key", "filter", "page", "page_size", "from", "to", "commune", "procedure"]

numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63, 10**30]),
)
texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["\x00", "a\x00b", "00070", "dang_ky_khai_sinh", "counter", "2026-03-02T08:00:00", "9999-12-31", "' OR 1=1 --"]
    ),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), inner, max_size=5),
    ),
    max_leaves=20,
)
bodies = st.one_of(json_values, st.fixed_dictionaries({}, optional={name: json_values for name in FIELDS}))
queries = st.dictionaries(
    st.one_of(st.sampled_from(QUERY_NAMES), st.text(max_size=8)), st.one_of(texts, numbers.map(str)), max_size=4
)


def api_rules(app):
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/api/v1") and not rule.rule.endswith("openapi.json")
        ),
        key=lambda rule: rule.rule,
    )


def path_of(rule, values: dict) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = path.replace(f"<int:{name}>", str(values[name])).replace(f"<{name}>", quote(str(values[name]), safe=""))
    return path


@st.composite
def requests(draw, rules):
    rule = draw(st.sampled_from(rules))
    method = draw(st.sampled_from(sorted(rule.methods - {"HEAD", "OPTIONS"})))
    values = {
        name: draw(
            st.integers(min_value=-5, max_value=2**70)
            if isinstance(rule._converters[name], IntegerConverter)
            else st.one_of(texts, st.sampled_from(["1.001193", "01.00070-260302-0001"]))
        )
        for name in rule.arguments
    }
    return method, path_of(rule, values), draw(queries), draw(bodies) if method != "GET" else None


def test_no_json_body_query_or_id_makes_the_api_fail(hostile_app, hostile_client, desk_token):
    rules = api_rules(hostile_app)
    assert len(rules) >= 12  # every endpoint of the document is in the draw

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(requests(rules))
    def no_server_error(request):
        method, path, query, body = request
        answer = hostile_client.open(path, method=method, query_string=query, json=body, headers=bearer(desk_token))
        assert answer.status_code < 500, (method, path, query, body, answer.get_data(as_text=True)[:300])
        assert answer.is_json or answer.status_code < 400, (method, path, answer.status_code)

    no_server_error()
