"""`motcua bpmn check` and `motcua processes check|export`, through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from lxml import etree

from configurator.commands import bpmn_group
from configurator.commands import processes_group
from configurator.library import procedures
from configurator.step_tables import build_bpmn

TABLE = {
    "process_id": "thu_tuc",
    "legal_limit": "2d",
    "roles": {"mot_cua": "Một cửa", "chuyen_vien": "Chuyên viên"},
    "steps": [
        {"id": "tiep_nhan", "role": "mot_cua", "budget": "4h", "next": "tham_dinh"},
        {"id": "tham_dinh", "role": "chuyen_vien", "budget": "1d", "next": "hoan_thanh"},
        {"id": "hoan_thanh", "kind": "end"},
    ],
}


def write(tmp_path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def without_role(content: bytes) -> bytes:
    """The valid template with the role of tham_dinh removed (lane included)."""
    root = etree.fromstring(content)
    for element in root.iter():
        if element.get("role") == "chuyen_vien":
            del element.attrib["role"]
        if element.tag.endswith("}flowNodeRef") and element.text == "tham_dinh":
            element.getparent().remove(element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def check(*args: str):
    return CliRunner().invoke(bpmn_group, ["check", *args])


def test_a_valid_file_exits_0_and_says_so(tmp_path):
    path = write(tmp_path, "ok.bpmn", build_bpmn(TABLE))

    result = check(path)

    assert result.exit_code == 0, result.output
    assert f"{path}: imports, valid" in result.output
    assert "tiep_nhan -> tham_dinh" in result.output


def test_an_invalid_file_exits_1_with_the_element_id_in_json(tmp_path):
    good = write(tmp_path, "ok.bpmn", build_bpmn(TABLE))
    bad = write(tmp_path, "bad.bpmn", without_role(build_bpmn(TABLE)))

    result = check(good, bad, "--json")

    assert result.exit_code == 1
    reports = {r["file"]: r for r in json.loads(result.output)}
    assert reports[good]["ok"] and not reports[bad]["ok"]
    [error] = reports[bad]["errors"]
    assert error["element_id"] == "tham_dinh" and error["code"] == "role-missing"
    assert {"warnings", "longest_path", "longest_path_minutes"} <= set(reports[bad])


def test_malformed_xml_is_reported_with_its_line(tmp_path):
    path = write(tmp_path, "broken.bpmn", b'<?xml version="1.0"?>\n<definitions>\n  <process>\n</definitions>\n')

    result = check(path, "--json")

    assert result.exit_code == 1
    [report] = json.loads(result.output)
    [error] = report["errors"]
    assert error["line"] == 4 and error["message"].startswith("Not well-formed XML")
    text = check(path)
    assert "line 4" in text.output and text.exit_code == 1


def test_the_legal_limit_option_is_compared_with_the_longest_path(tmp_path):
    path = write(tmp_path, "ok.bpmn", build_bpmn(TABLE))

    result = check(path, "--legal-limit", "1d", "--json")

    assert result.exit_code == 1
    [report] = json.loads(result.output)
    assert report["longest_path_minutes"] == 720 and report["legal_limit_minutes"] == 480
    assert [e["code"] for e in report["errors"]] == ["legal-limit"]
    assert check(path, "--legal-limit", "soon").exit_code == 2  # click's usage error


def test_a_same_day_limit_is_checked_against_the_time_after_the_cut_off(tmp_path):
    path = write(tmp_path, "ok.bpmn", build_bpmn(TABLE))  # 12 h of step budgets

    result = check(path, "--legal-limit", "trong ngày", "--cutoff", "15:00")

    assert result.exit_code == 1
    assert "(legal limit same day)" in result.output and "[legal-limit-same-day]" in result.output
    assert "more than the 2 hours of working time a same-day procedure has after its 15:00 cut-off" in result.output
    assert check(path, "--legal-limit", "same day", "--cutoff", "3pm").exit_code == 2


def test_processes_check_prints_a_row_per_procedure():
    result = CliRunner().invoke(processes_group, ["check"])

    assert result.exit_code == 0, result.output
    for procedure in procedures():
        assert procedure.key in result.output
    assert "0 with errors" in result.output


def test_processes_export_writes_bpmn_beside_the_catalogue_and_forms(tmp_path):
    result = CliRunner().invoke(processes_group, ["export", "--out", str(tmp_path / "out")])

    assert result.exit_code == 0, result.output
    for procedure in procedures():
        folder = tmp_path / "out" / procedure.key
        assert (folder / "procedure.json").read_bytes() == (procedure.folder / "procedure.json").read_bytes()
        assert (folder / "v1" / "process.bpmn").read_bytes() == procedure.bpmn("v1")
        assert sorted(p.name for p in (folder / "v1" / "forms").iterdir()) == sorted(
            p.name for p in (procedure.folder / "v1" / "forms").iterdir()
        )


def test_simulate_prints_each_step_due_time_and_the_appointment(sqlite_database, monkeypatch):
    from web.cli import main as motcua

    monkeypatch.setenv("DATABASE_URL", sqlite_database.url)
    five = Path(__file__).resolve().parents[1] / "bpmn" / "five_steps.bpmn"
    result = CliRunner().invoke(
        motcua, ["bpmn", "simulate", str(five), "--unit", "VN", "--received", "2026-03-02T08:00", "--json"]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["steps"][0] == {
        "step": "tiep_nhan",
        "name": "Tiếp nhận",
        "role": "mot_cua",
        "starts_at": "2026-03-02T08:00:00+07:00",
        "due_at": "2026-03-02T12:00:00+07:00",
    }
    assert answer["appointment"] == "2026-03-04T17:00:00+07:00" and answer["fits"] is True


def test_commands_on_an_empty_database_say_to_upgrade_it(tmp_path, monkeypatch):
    from web.cli import main as motcua

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/empty.sqlite3")
    result = CliRunner().invoke(motcua, ["calendar", "show", "--from", "2026-03-02", "--to", "2026-03-03"])
    assert result.exit_code == 1 and "motcua db upgrade" in result.output
