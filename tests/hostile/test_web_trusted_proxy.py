"""Attack: a client sending its own X-Forwarded-For to escape the per-address throttles, or to put
another address in the logs. Outcome: the header is ignored unless MOTCUA_TRUSTED_PROXY says how
many proxies stand in front; then the client's address (as the proxy wrote it) is what the
throttles count and the logs show."""

from __future__ import annotations

import logging

import pytest

from engine.store import queries
from tests.hostile.web_fixtures import close_app
from tests.hostile.web_fixtures import hostile_rt  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import make_app

CODE = "01.00070-260302-0001"


@pytest.fixture
def apps(hostile_rt, clock):
    made = []

    def build(**config):
        made.append(make_app(hostile_rt, clock, LOOKUP_LIMIT=3, **config))
        return made[-1]

    yield build
    for app in made:
        close_app(app)


def lookups_until_blocked(client, forwarded_for: str) -> int:
    for n in range(1, 10):
        page = client.get(
            "/tra-cuu", query_string={"ma": CODE, "so": "0000"}, headers={"X-Forwarded-For": forwarded_for}
        ).get_data(as_text=True)
        if "quá nhiều lần" in page:
            return n
    return 0


def test_without_a_trusted_proxy_a_forged_header_does_not_escape_the_throttle(apps):
    client = apps().test_client()
    assert lookups_until_blocked(client, "203.0.113.1") == 4
    assert lookups_until_blocked(client, "203.0.113.2") == 1  # the same socket address: still blocked


def test_behind_a_trusted_proxy_each_client_is_counted_by_its_own_address(apps):
    client = apps(TRUSTED_PROXY=1).test_client()
    assert lookups_until_blocked(client, "203.0.113.1") == 4
    assert lookups_until_blocked(client, "203.0.113.2") == 4
    # A client forging the header in front of the proxy: the proxy appends the real address last.
    assert lookups_until_blocked(client, "198.51.100.7, 203.0.113.1") == 1


@pytest.mark.parametrize(("trusted", "logged"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_the_error_log_shows_the_client_address_only_through_a_trusted_proxy(
    apps, monkeypatch, caplog, trusted, logged
):
    monkeypatch.setattr(queries, "status_counts", lambda *_: 1 / 0)
    client = apps(TRUSTED_PROXY=trusted).test_client()
    with caplog.at_level(logging.ERROR, logger="motcua.web"):
        client.get("/", headers={"X-Forwarded-For": "203.0.113.9"})
    assert caplog.records[-1].getMessage().endswith(f"from {logged}")


def test_a_proxy_count_that_is_not_a_small_number_stops_the_app(hostile_rt, clock):
    with pytest.raises(RuntimeError, match="MOTCUA_TRUSTED_PROXY"):
        make_app(hostile_rt, clock, TRUSTED_PROXY="yes")
