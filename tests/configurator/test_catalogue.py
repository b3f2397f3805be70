"""The procedure catalogue: library import, accent-free search, CSV import that writes all or nothing."""

from __future__ import annotations

import pytest

from configurator import catalogue
from configurator import library
from engine.domain.errors import EngineError
from engine.domain.errors import NotFound
from tests.factories import deploy_fixture

CSV_HEADER = (
    "key,code,name,field_name,level,legal_limit_days,clock_cutoff,fees,required_documents,"
    "legal_basis,online_service_level\n"
)


@pytest.fixture
def rt(runtime):
    return runtime


def keys(result: catalogue.SearchResult) -> set[str]:
    return {entry.key for entry in result.entries}


def test_the_library_loads_and_search_ignores_case_and_accents(rt):
    loaded = catalogue.load_library(rt)
    assert len(loaded) == len(library.procedures()) >= 17
    assert catalogue.search(rt, limit=100).total == len(loaded)
    for text in ("khai sinh", "Khai Sinh", "KHAI SINH", "đăng ký khai sinh", "dang ky khai sinh", "1.001193"):
        assert "dang_ky_khai_sinh" in keys(catalogue.search(rt, text)), text
    assert (
        keys(catalogue.search(rt, "Đăng ký khai sinh"))
        == keys(catalogue.search(rt, "dang ky khai sinh"))
        == {"dang_ky_khai_sinh", "dang_ky_lai_khai_sinh", "lien_thong_khai_sinh_thuong_tru_bhyt_tre_duoi_6_tuoi"}
    )
    assert keys(catalogue.search(rt, "kết hôn")) == keys(catalogue.search(rt, "ket hon")) != set()
    assert catalogue.search(rt, "no such procedure").total == 0


def test_search_filters_by_level_and_field_and_pages(rt):
    count = len(catalogue.load_library(rt))
    assert catalogue.search(rt, level="commune", limit=100).total == count
    assert catalogue.search(rt, level="province").total == 0
    civil_status = catalogue.search(rt, field="ho tich", limit=100)  # field name, accents ignored
    assert "dang_ky_khai_sinh" in keys(civil_status)
    assert civil_status.total == catalogue.search(rt, field="Hộ tịch", limit=100).total < count
    first, second = catalogue.search(rt, limit=10), catalogue.search(rt, limit=10, offset=10)
    assert len(first.entries) == 10 and len(second.entries) == min(10, count - 10) and not keys(first) & keys(second)


def test_an_entry_shows_its_fields_and_template_versions(rt):
    catalogue.load_library(rt)
    entry = catalogue.get(rt, "dang_ky_khai_sinh")
    assert (entry.code, entry.level, entry.legal_limit_days, entry.same_day) == ("1.001193", "commune", 0, True)
    assert (entry.field_name, entry.clock_cutoff, entry.versions) == ("Hộ tịch", "15:00", ())
    assert entry.required_documents[0] == {
        "name": "Tờ khai đăng ký khai sinh (theo mẫu)",
        "copies": 1,
        "original": True,
    }
    catalogue.import_json(rt, {"key": "five_steps", "name": "Năm bước", "level": "province", "legal_limit_days": 3})
    deploy_fixture(rt, "five_steps")
    assert [(v.version, v.status) for v in catalogue.get(rt, "five_steps").versions] == [(1, "published")]
    with pytest.raises(NotFound):
        catalogue.get(rt, "missing")


def test_import_upserts_by_key(rt):
    catalogue.import_json(rt, {"key": "thu_tuc_a", "name": "Thủ tục A", "level": "commune"})
    catalogue.import_json(rt, [{"key": "thu_tuc_a", "code": "1.000948.H38", "name": "Thủ tục Á", "level": "tỉnh"}])
    entry = catalogue.get(rt, "thu_tuc_a")
    assert (entry.code, entry.name, entry.level) == ("1.000948.H38", "Thủ tục Á", "province")
    assert keys(catalogue.search(rt, "1.000948.h38")) == {"thu_tuc_a"}


def test_csv_import_parses_fees_documents_and_legal_basis(rt):
    text = CSV_HEADER + (
        'chung_thuc,2.000815,Chứng thực bản sao,Chứng thực,xã,"0,5",15:00,"Lệ phí: 2.000; Phí dịch vụ: 0",'
        '"Bản chính|1|bản chính; Bản sao|2|bản sao","Nghị định 23/2015/NĐ-CP; Thông tư 01/2020/TT-BTP",toàn trình\n'
    )
    assert catalogue.import_csv(rt, text) == ["chung_thuc"]
    entry = catalogue.get(rt, "chung_thuc")
    assert (entry.level, entry.legal_limit_days, entry.online_service_level) == ("commune", 0.5, "full")
    assert [f["amount_vnd"] for f in entry.fees] == [2000, 0]
    assert entry.required_documents == [
        {"name": "Bản chính", "copies": 1, "original": True},
        {"name": "Bản sao", "copies": 2, "original": False},
    ]
    assert entry.legal_basis == ["Nghị định 23/2015/NĐ-CP", "Thông tư 01/2020/TT-BTP"]


def test_a_same_day_limit_imports_from_json_and_csv_as_zero_days(rt):
    catalogue.import_json(
        rt,
        [
            {"key": "json_0", "name": "A", "level": "commune", "legal_limit_days": 0},
            {"key": "json_text", "name": "B", "level": "commune", "legal_limit_days": "same day"},
        ],
    )
    catalogue.import_csv(
        rt,
        CSV_HEADER + "csv_vi,,C,Hộ tịch,xã,Trong ngày,15:00,,,,\n"
        "csv_ascii,,D,Hộ tịch,xã,trong ngay,,,,,\n"
        'csv_half,,E,Hộ tịch,xã,"0,5",,,,,\n',
    )

    entries = {key: catalogue.get(rt, key) for key in ("json_0", "json_text", "csv_vi", "csv_ascii", "csv_half")}
    assert {key for key, entry in entries.items() if entry.same_day} == {"json_0", "json_text", "csv_vi", "csv_ascii"}
    assert entries["csv_vi"].legal_limit_days == 0 and entries["csv_half"].legal_limit_days == 0.5


def test_a_legal_limit_that_is_neither_days_nor_same_day_is_refused_naming_the_row(rt):
    with pytest.raises(catalogue.CatalogueError) as refused:
        catalogue.import_csv(rt, CSV_HEADER + "a,,A,Hộ tịch,xã,trong tuần,,,,,\n")
    assert {(p.row, p.field) for p in refused.value.problems} == {(2, "legal_limit_days")}
    assert catalogue.search(rt).total == 0


def test_csv_import_with_two_bad_rows_reports_both_and_writes_nothing(rt):
    text = CSV_HEADER + (
        "tot_1,1.000001,Thủ tục tốt,Hộ tịch,commune,3,,Lệ phí: 8000,Tờ khai|1|bản chính,Luật Hộ tịch,\n"
        "xau_1,1.000002,Thủ tục xấu,Hộ tịch,huyện,3,,Lệ phí: tám nghìn,Tờ khai|1|bản chính,,\n"
        "tot_2,,Thủ tục tốt 2,Hộ tịch,province,2,08:00,,,,\n"
        "xau_2,1.0003,,Hộ tịch,commune,-1,25:00,,CCCD|0|bản sao,,\n"
    )
    with pytest.raises(catalogue.CatalogueError) as refused:
        catalogue.import_csv(rt, text)
    problems = {(p.row, p.field) for p in refused.value.problems}
    assert problems == {
        (3, "level"),
        (3, "fees"),
        (5, "code"),
        (5, "name"),
        (5, "legal_limit_days"),
        (5, "clock_cutoff"),
        (5, "required_documents"),
    }
    assert isinstance(refused.value, EngineError) and "row 3, level" in str(refused.value)
    assert catalogue.search(rt).total == 0


def test_csv_import_refuses_missing_columns_and_repeated_keys(rt):
    with pytest.raises(catalogue.CatalogueError) as refused:
        catalogue.import_csv(rt, "key,name,colour\nk,Tên,đỏ\n")
    assert {(p.row, p.field) for p in refused.value.problems} == {(1, "level"), (1, "colour")}
    with pytest.raises(catalogue.CatalogueError) as repeated:
        catalogue.import_csv(rt, "key,name,level\nk,A,commune\nk,B,commune\n")
    assert [(p.row, p.field) for p in repeated.value.problems] == [(3, "key")]


def test_json_import_reports_every_bad_entry(rt):
    with pytest.raises(catalogue.CatalogueError) as refused:
        catalogue.import_json(
            rt,
            [
                {"key": "ok", "name": "A", "level": "commune"},
                {
                    "key": "bad key",
                    "name": "B",
                    "level": "commune",
                    "required_documents": [{"name": "X", "copies": "two"}],
                },
                "not an entry",
            ],
        )
    assert {(p.row, p.field) for p in refused.value.problems} == {
        (2, "key"),
        (2, "required_documents[1]"),
        (3, "entry"),
    }
    assert catalogue.search(rt).total == 0


def test_the_import_command_reads_csv_or_json_and_names_each_bad_row(rt, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from web.cli import main

    monkeypatch.setenv("DATABASE_URL", rt.db.url)
    good = tmp_path / "danh_muc.csv"
    good.write_text("\ufeff" + CSV_HEADER + "tot_1,1.000001,Thủ tục tốt,Hộ tịch,commune,3,,,,,\n", encoding="utf-8")
    bad = tmp_path / "danh_muc.json"
    bad.write_text('[{"key": "bad key", "name": "B", "level": "commune"}]', encoding="utf-8")

    imported = CliRunner().invoke(main, ["catalogue", "import", str(good)])
    refused = CliRunner().invoke(main, ["catalogue", "import", str(bad)])

    assert imported.exit_code == 0 and "1 procedure(s) imported or updated from danh_muc.csv" in imported.output
    assert refused.exit_code == 1 and "danh_muc.json: row 1, key:" in refused.output
    assert keys(catalogue.search(rt)) == {"tot_1"}
