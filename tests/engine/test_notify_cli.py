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
    assert unknown.exit_code == 2 and "unknown unit '99'" in unknown.output
