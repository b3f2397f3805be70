"""`motcua bpmn check --bundle DIR`: a folder's BPMN and DMN files checked as one template; and
`motcua connectors hosts`, the http connector's allow-list from the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from configurator.commands import bpmn_group
from engine.commands.connectors import connectors_group

HERE = Path(__file__).resolve().parents[1] / "bpmn"


def _bundle(tmp_path, dmn: bytes | None = None) -> Path:
    folder = tmp_path / "mau"
    folder.mkdir()
    shutil.copy(HERE / "fee_decision.bpmn", folder / "fee_decision.bpmn")
    (folder / "le_phi.dmn").write_bytes(dmn if dmn is not None else (HERE / "le_phi.dmn").read_bytes())
    (folder / "ghi_chu.txt").write_text("not a model file")
    return folder


def test_a_folder_with_its_decision_table_is_one_valid_template(tmp_path):
    result = CliRunner().invoke(bpmn_group, ["check", "--bundle", str(_bundle(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "imports, valid" in result.output


def test_the_same_bpmn_alone_names_the_task_whose_table_is_missing(tmp_path):
    result = CliRunner().invoke(bpmn_group, ["check", str(HERE / "fee_decision.bpmn")])
    assert result.exit_code == 1
    assert "element 'tinh_phi'" in result.output and "called-decision" in result.output


def test_a_bad_cell_is_named_with_its_file_and_id(tmp_path):
    bad = (HERE / "le_phi.dmn").read_bytes().replace(b"<text>8000</text>", b"<text>__import__('os')</text>")
    result = CliRunner().invoke(bpmn_group, ["check", "--bundle", str(_bundle(tmp_path, bad)), "--json"])
    assert result.exit_code == 1
    [report] = json.loads(result.output)
    assert [(e["file"], e["element_id"]) for e in report["errors"]] == [("le_phi.dmn", "out_mac_dinh")]


def test_files_and_bundle_are_not_given_together(tmp_path):
    result = CliRunner().invoke(
        bpmn_group, ["check", "--bundle", str(_bundle(tmp_path)), str(HERE / "fee_decision.bpmn")]
    )
    assert result.exit_code == 2 and "either FILE" in result.output


def test_the_allow_list_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    from engine.store.database import Database
    from engine.store.migrate import upgrade

    db = Database.from_env()
    upgrade(db.engine)
    db.dispose()
    runner = CliRunner()
    assert runner.invoke(connectors_group, ["hosts", "allow", "API.Example.vn", "--note", "thử"]).exit_code == 0
    listed = runner.invoke(connectors_group, ["hosts", "list"])
    assert listed.output.startswith("api.example.vn\tsystem")
    refused = runner.invoke(connectors_group, ["hosts", "allow", "https://x.vn/a"])
    assert refused.exit_code == 1 and "not a host name" in refused.output
    assert runner.invoke(connectors_group, ["hosts", "forbid", "api.example.vn"]).exit_code == 0
    assert "no host is allowed" in runner.invoke(connectors_group, ["hosts", "list"]).output
