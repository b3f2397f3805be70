"""Attack: odd query strings and path values on every page a signed-in officer can open (huge
numbers, NUL, dates that are no dates, unknown codes). Outcome: never a server error, on SQLite
and PostgreSQL; the page or a refusal page."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter

from tests.hostile.web_fixtures import hostile_app  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_rt  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import login

#: Every query parameter the pages read (Vietnamese names), and a few they do not.
PARAMETERS = [
    "ma",
    "so",
    "k",
    "q",
    "trang",
    "phien-ban",
    "tu",
    "den",
    "sau",
    "thang",
    "don_vi",
    "xa",
    "thu_tuc",
    "tu_ngay",
    "den_ngay",
    "loai",
    "next",
    "loc",
    "definition_id",
    "page",
    "chi_so",
    "kind",
    "x",
]
values = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(
        [
            "",
            "\x00",
            "2026-02-30",
            "9999-12",
            "00070",
            "01",
            "dang_ky_khai_sinh",
            "0001-01-01",
            "2026-13",
            "../../etc/passwd",
            "%",
            "1e309",
        ]
    ),
)
queries = st.dictionaries(st.sampled_from(PARAMETERS), values, max_size=4)


#: Answers 503 by design while no worker has beaten (a load balancer's readiness probe).
READINESS = "/readyz"


def page_rules(app):
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if "GET" in rule.methods
            and not rule.rule.startswith(("/api/", "/vendor", "/static"))
            and "static" not in rule.endpoint
            and rule.rule != READINESS
        ),
        key=lambda rule: rule.rule,
    )


@st.composite
def page_requests(draw, rules):
    rule = draw(st.sampled_from(rules))
    path = rule.rule
    for name in rule.arguments:
        converter = rule._converters[name]
        value = draw(
            st.integers(min_value=0, max_value=2**70)
            if isinstance(converter, IntegerConverter)
            else st.one_of(values, st.sampled_from(["dang_ky_khai_sinh", "tiep_nhan", "00070"]))
        )
        path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", quote(str(value), safe="") or "x")
    return path, draw(queries)


@pytest.mark.parametrize("username", ["mot_cua_1", "giam_sat", "mo_hinh", "quan_tri"])
def test_no_query_string_makes_a_page_fail(hostile_app, username):
    client = hostile_app.test_client()
    login(client, username)
    rules = page_rules(hostile_app)

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(page_requests(rules))
    def no_server_error(request):
        path, query = request
        answer = client.get(path, query_string=query)
        assert answer.status_code < 500, (path, query, answer.get_data(as_text=True)[-400:])

    no_server_error()
