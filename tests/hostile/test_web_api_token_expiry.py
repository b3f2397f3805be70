"""Attack: a leaked API token worked forever and nobody could tell when it was last used.
Outcome: tokens expire (90 days unless `--expires-in` says otherwise), the last use is recorded
to the minute (not a write per call), and `motcua api-token list` shows both."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.domain.errors import InvalidAction
from engine.services import api_tokens
from engine.store.account_records import ApiTokenRecord
from tests.hostile.web_fixtures import bearer
from tests.hostile.web_fixtures import hostile_app  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_client  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_rt  # noqa: F401  (fixture)
from web.cli import main


def stored(rt) -> ApiTokenRecord:
    with rt.db.read_session() as s:
        return s.scalar(select(ApiTokenRecord))


def test_a_token_is_refused_once_it_expires(hostile_client, hostile_rt, clock):
    record, token = api_tokens.issue(hostile_rt, username="mot_cua_1", name="Cổng DVC", expires_in="12h")
    assert record.expires_at == clock.now() + timedelta(hours=12)
    assert hostile_client.get("/api/v1/procedures", headers=bearer(token)).status_code == 200
    clock.advance(hours=12)
    refused = hostile_client.get("/api/v1/procedures", headers=bearer(token))
    assert refused.status_code == 401 and "hết hạn" in refused.json["message"]


def test_the_default_lifetime_is_ninety_days(hostile_rt, clock):
    record, _token = api_tokens.issue(hostile_rt, username="mot_cua_1", name="Cổng DVC")
    assert record.expires_at - clock.now() == timedelta(days=90)


@pytest.mark.parametrize("lifetime", ["", "90", "0d", "731d", "-1d", "1w", "9" * 40])
def test_a_lifetime_that_is_no_span_or_too_long_is_refused(hostile_rt, lifetime):
    with pytest.raises(InvalidAction) as refused:
        api_tokens.issue(hostile_rt, username="mot_cua_1", name="Cổng DVC", expires_in=lifetime)
    assert refused.value.field == "expires_in"
    assert stored(hostile_rt) is None


def test_the_last_use_is_written_at_most_once_a_minute(hostile_client, hostile_rt, clock):
    _record, token = api_tokens.issue(hostile_rt, username="mot_cua_1", name="Cổng DVC")
    assert stored(hostile_rt).last_used_at is None
    first = clock.now()
    hostile_client.get("/api/v1/procedures", headers=bearer(token))
    assert stored(hostile_rt).last_used_at == first
    clock.advance(seconds=59)
    hostile_client.get("/api/v1/procedures", headers=bearer(token))
    assert stored(hostile_rt).last_used_at == first  # a read stayed a read
    clock.advance(seconds=1)
    hostile_client.get("/api/v1/procedures", headers=bearer(token))
    assert stored(hostile_rt).last_used_at == first + timedelta(minutes=1)


def test_the_command_line_sets_the_expiry_and_lists_it_with_the_last_use(hostile_rt):
    env = {"DATABASE_URL": hostile_rt.db.url}
    created = CliRunner().invoke(
        main, ["api-token", "create", "--user", "mot_cua_1", "--name", "Cổng DVC", "--expires-in", "30d"], env=env
    )
    assert created.exit_code == 0, created.output
    record = stored(hostile_rt)
    assert record.expires_at - record.created_at == timedelta(days=30)
    listed = CliRunner().invoke(main, ["api-token", "list"], env=env).stdout.strip().split("\t")
    assert listed[4] == f"{record.expires_at:%Y-%m-%d %H:%M}Z" and listed[5:] == ["never", "active"]
    bad = CliRunner().invoke(
        main, ["api-token", "create", "--user", "mot_cua_1", "--name", "X", "--expires-in", "forever"], env=env
    )
    assert bad.exit_code != 0 and "forever" in bad.output
