"""`motcua notify provider`: an operator turns a channel on for a province, overrides it for one
commune, lists them with secrets hidden, and turns the commune's off again."""

from __future__ import annotations

from click.testing import CliRunner

from engine.services.citizen_channels import provider_settings
from tests.factories import add_units
from web.cli import main

SMS = ["--setting", "api_key=K", "--setting", "secret_key=S"]


def _invoke(runtime, monkeypatch, *args):
    monkeypatch.setenv("DATABASE_URL", runtime.db.url)
    return CliRunner().invoke(main, ["notify", "provider", *args])


def test_province_provider_commune_override_and_removal(runtime, monkeypatch):
    add_units(runtime)
    assert (
        _invoke(
            runtime, monkeypatch, "set", "--unit", "01", "--channel", "sms", *SMS, "--setting", "brandname=UBND-HN"
        ).exit_code
        == 0
    )
    assert (
        _invoke(
            runtime, monkeypatch, "set", "--unit", "00070", "--channel", "sms", *SMS, "--setting", "brandname=HOANKIEM"
        ).exit_code
        == 0
    )
    with runtime.db.read_session() as s:
        assert provider_settings(s, "00070", "sms")["brandname"] == "HOANKIEM"
        assert provider_settings(s, "00073", "sms")["brandname"] == "UBND-HN"  # from its province
        assert provider_settings(s, "00073", "zalo") is None
    listed = _invoke(runtime, monkeypatch, "list").output
    assert "01\tsms" in listed and '"api_key": "***"' in listed and "K" not in listed.replace("KIEM", "")

    assert _invoke(runtime, monkeypatch, "remove", "--unit", "00070", "--channel", "sms").exit_code == 0
    with runtime.db.read_session() as s:
        assert provider_settings(s, "00070", "sms")["brandname"] == "UBND-HN"


def test_missing_settings_and_unknown_units_are_named(runtime, monkeypatch):
    add_units(runtime)
    missing = _invoke(runtime, monkeypatch, "set", "--unit", "01", "--channel", "zalo", "--setting", "access_token=T")
    assert missing.exit_code == 2 and "the zalo provider needs template_id" in missing.output
    unknown = _invoke(runtime, monkeypatch, "set", "--unit", "99", "--channel", "email", "--setting", "host=h")
    assert unknown.exit_code == 2 and "unit 99 does not exist" in unknown.output


def _stored(runtime, unit_code, channel) -> dict:
    from engine.store import citizen_queries

    with runtime.db.read_session() as s:
        return dict(citizen_queries.provider(s, unit_code, channel).settings)


def test_secrets_are_encrypted_at_rest_and_survive_a_key_rotation(runtime, monkeypatch):
    from cryptography.fernet import Fernet

    add_units(runtime)
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("MOTCUA_NOTIFY_KEYS", old_key)
    args = ["set", "--unit", "01", "--channel", "email", "--setting", "host=smtp.hanoi.gov.vn"]
    assert _invoke(runtime, monkeypatch, *args, "--setting", "password=mat-khau-thu").exit_code == 0
    stored = _stored(runtime, "01", "email")
    assert stored["host"] == "smtp.hanoi.gov.vn" and "mat-khau-thu" not in str(stored)
    assert stored["password"].startswith("fernet:")
    with runtime.db.read_session() as s:
        assert provider_settings(s, "00070", "email")["password"] == "mat-khau-thu"

    # The new key first, the old one still listed: rotate, then the old key can go.
    monkeypatch.setenv("MOTCUA_NOTIFY_KEYS", f"{new_key},{old_key}")
    rotated = _invoke(runtime, monkeypatch, "rotate-key")
    assert rotated.exit_code == 0 and "1 secrets" in rotated.output
    monkeypatch.setenv("MOTCUA_NOTIFY_KEYS", new_key)
    with runtime.db.read_session() as s:
        assert provider_settings(s, "00070", "email")["password"] == "mat-khau-thu"

    monkeypatch.setenv("MOTCUA_NOTIFY_KEYS", Fernet.generate_key().decode())  # the key was lost
    lost = _invoke(runtime, monkeypatch, "rotate-key")
    assert lost.exit_code == 1 and "MOTCUA_NOTIFY_KEYS" in lost.output


def test_production_without_a_key_refuses_to_start(monkeypatch):
    import pytest

    from engine import secret_box

    monkeypatch.delenv("MOTCUA_NOTIFY_KEYS", raising=False)
    monkeypatch.setenv("MOTCUA_ENV", "production")
    with pytest.raises(secret_box.SecretKeyMissing, match="set MOTCUA_NOTIFY_KEYS"):
        secret_box.check_configured()
    monkeypatch.setenv("MOTCUA_NOTIFY_KEYS", "not-a-key")
    with pytest.raises(secret_box.SecretKeyMissing, match="Fernet key"):
        secret_box.check_configured()
