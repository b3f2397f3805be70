"""The citizen rates a finished dossier from the lookup page, once; the supervisor reads the figures
and exports them."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from engine.services import dossiers
from engine.store.records import WorkItemRecord
from tests.factories import LEADER
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import deploy_fixture
from tests.web.conftest import csrf_token
from tests.web.conftest import login

RATING = {"time": "2", "attitude": "2", "information": "1", "result": "0", "comment": "Cần hướng dẫn rõ hơn"}


def finished_dossier(rt, steps=5):
    definition = deploy_fixture(rt, "five_steps")
    dossier = dossiers.start_dossier(
        rt,
        definition_id=definition.id,
        unit_code="00070",
        applicant_name="Trần Thị B",
        actor=RECEPTION,
        applicant={"phone": "0912345678"},
    )
    for actor, data in (
        (RECEPTION, {}),
        (SPECIALIST, {"hop_le": True}),
        (SPECIALIST, {}),
        (LEADER, {}),
        (RECEPTION, {}),
    )[:steps]:
        with rt.db.session() as s:
            item = s.scalars(
                select(WorkItemRecord).where(
                    WorkItemRecord.dossier_id == dossier.id, WorkItemRecord.state.in_(["open", "claimed"])
                )
            ).first()
        dossiers.complete_work_item(rt, item.id, actor, data)
    return dossier


def test_citizen_rates_once_from_the_lookup(client, web_rt):
    dossier = finished_dossier(web_rt)
    page = client.get(f"/tra-cuu?ma={dossier.code}&so=5678").get_data(as_text=True)
    assert "Đánh giá mức độ hài lòng" in page and 'name="attitude"' in page
    answer = client.post(
        "/tra-cuu/danh-gia",
        data={"csrf_token": csrf_token(page), "ma": dossier.code, "so": "5678", **RATING},
        follow_redirects=True,
    )
    page = answer.get_data(as_text=True)
    assert "Cảm ơn ông/bà đã đánh giá" in page and 'data-rated="1"' in page and 'name="attitude"' not in page
    assert "Kết quả giải quyết: Không hài lòng" in page

    again = client.post(
        "/tra-cuu/danh-gia",
        data={"csrf_token": csrf_token(page), "ma": dossier.code, "so": "5678", **{**RATING, "result": "2"}},
        follow_redirects=True,
    )
    assert "đã được đánh giá; mỗi hồ sơ chỉ đánh giá một lần" in again.get_data(as_text=True)
    assert "Kết quả giải quyết: Không hài lòng" in again.get_data(as_text=True)


def test_no_rating_before_the_result_nor_with_wrong_digits(client, web_rt):
    open_dossier = finished_dossier(web_rt, steps=2)
    page = client.get(f"/tra-cuu?ma={open_dossier.code}&so=5678").get_data(as_text=True)
    assert "Đánh giá mức độ hài lòng" not in page
    answer = client.post(
        "/tra-cuu/danh-gia", data={"csrf_token": csrf_token(page), "ma": open_dossier.code, "so": "1111", **RATING}
    )
    assert answer.status_code == 404
    answer = client.post(
        "/tra-cuu/danh-gia",
        data={"csrf_token": csrf_token(page), "ma": open_dossier.code, "so": "5678", **RATING},
        follow_redirects=True,
    )
    assert "chưa có kết quả nên chưa đánh giá được" in answer.get_data(as_text=True)


def test_a_missing_criterion_is_named(client, web_rt):
    dossier = finished_dossier(web_rt)
    page = client.get(f"/tra-cuu?ma={dossier.code}&so=5678").get_data(as_text=True)
    answer = client.post(
        "/tra-cuu/danh-gia",
        data={"csrf_token": csrf_token(page), "ma": dossier.code, "so": "5678", **{**RATING, "attitude": ""}},
        follow_redirects=True,
    )
    assert "Chọn mức đánh giá cho tiêu chí «Thái độ của cán bộ»" in answer.get_data(as_text=True)


def test_supervisor_sees_and_exports_the_figures(client, web_rt):
    dossier = finished_dossier(web_rt)
    page = client.get(f"/tra-cuu?ma={dossier.code}&so=5678").get_data(as_text=True)
    client.post("/tra-cuu/danh-gia", data={"csrf_token": csrf_token(page), "ma": dossier.code, "so": "5678", **RATING})
    login(client, "giam_sat")
    page = client.get("/giam-sat/hai-long").get_data(as_text=True)
    assert 'data-total="1"' in page
    commune = re.search(r'<tr data-key="00070">(.*?)</tr>', page, re.S).group(1)
    assert "Phường Hoàn Kiếm" in commune and "100,0%" in commune and "0,0%" in commune and "75,0%" in commune
    assert '<tr data-key="chuyen_vien_1">' in page

    csv_text = client.get("/giam-sat/hai-long.csv").data.decode("utf-8-sig")
    assert "BÁO CÁO MỨC ĐỘ HÀI LÒNG" in csv_text and "00070,Phường Hoàn Kiếm,1,100.0,100.0,100.0,0.0,75.0" in csv_text
    book = load_workbook(io.BytesIO(client.get("/giam-sat/hai-long.xlsx").data))
    cells = [[c for c in row] for row in book.active.iter_rows(values_only=True)]
    assert ["00070", "Phường Hoàn Kiếm", 1, 100, 100, 100, 0, 75] in [row[:8] for row in cells]
