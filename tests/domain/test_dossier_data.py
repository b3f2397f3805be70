"""The dossier's data read from its completed steps: grouped by step with the form's labels and
choices, latest entry first; a step that comes back starts with its last entry; forms carry
declared fields forward; the leader sees the specialist's proposal."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

from engine.domain import dossier_data
from engine.domain.dossier_data import CompletedStep

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
APPRAISAL = {
    "properties": {
        "ket_qua": {
            "title": "Kết quả thẩm định",
            "enum": ["dat", "khong_dat"],
            "enumNames": ["Đủ điều kiện", "Không đủ"],
        },
        "y_kien": {"title": "Ý kiến thẩm định"},
        "ho_ten_tre": {"title": "Họ, chữ đệm, tên của trẻ"},
        "dung_han": {"title": "Đăng ký đúng hạn"},
    }
}
SIGNING = {
    "properties": {
        "ket_qua": {"title": "Quyết định", "enum": ["duyet", "tra_lai"]},
        "ho_ten_tre": {"title": "Họ tên trẻ", "x-carry-forward": "tham_dinh.ho_ten_tre"},
        "nguoi_nop": {"title": "Người nộp", "x-carry-forward": "nguoi_nop"},
    }
}
FORMS = {"tham_dinh": APPRAISAL, "ky_duyet": SIGNING}


def step(item_id, element_id, minutes, outcome, by="tu_phap_1", form_key=None):
    return CompletedStep(
        item_id,
        element_id,
        element_id.replace("_", " "),
        form_key or element_id,
        by,
        None,
        T0 + timedelta(minutes=minutes),
        outcome,
    )


HISTORY = [
    step(1, "tiep_nhan", 0, {"nguoi_nop": "Nguyễn Văn A", "ket_qua": "tiep_nhan"}, by="mot_cua_1"),
    step(
        2, "tham_dinh", 30, {"ket_qua": "dat", "y_kien": "Đủ giấy tờ", "ho_ten_tre": "Nguyễn Văn Bé", "dung_han": True}
    ),
    step(3, "ky_duyet", 60, {"ket_qua": "tra_lai", "ly_do_tra_lai": "Sai tên đệm"}, by="lanh_dao_1"),
    step(
        4,
        "tham_dinh",
        90,
        {"ket_qua": "khong_dat", "y_kien": "Giấy chứng sinh tẩy xóa", "ho_ten_tre": "Nguyễn Thị Bé", "dung_han": False},
    ),
]


def test_the_summary_groups_entries_by_step_latest_first_with_the_forms_labels_and_choices():
    data = dossier_data.summary(HISTORY, FORMS)
    assert [s.element_id for s in data.steps] == ["tiep_nhan", "tham_dinh", "ky_duyet"]
    appraisal = data.steps[1]
    assert [e.work_item_id for e in appraisal.entries] == [4, 2]
    latest = {f.label: f.shown for f in appraisal.latest.fields}
    assert latest == {
        "Kết quả thẩm định": "Không đủ",
        "Ý kiến thẩm định": "Giấy chứng sinh tẩy xóa",
        "Họ, chữ đệm, tên của trẻ": "Nguyễn Thị Bé",
        "Đăng ký đúng hạn": False,
    }
    assert [f.value for f in appraisal.earlier[0].fields if f.name == "ho_ten_tre"] == ["Nguyễn Văn Bé"]
    assert data.as_dict()[1]["entries"][0]["completed_by"] == "tu_phap_1"


def test_a_step_that_comes_back_starts_with_what_was_last_entered_there():
    assert dossier_data.prefill(APPRAISAL, "tham_dinh", HISTORY[:3]) == {
        "ket_qua": "dat",
        "y_kien": "Đủ giấy tờ",
        "ho_ten_tre": "Nguyễn Văn Bé",
        "dung_han": True,
    }
    assert dossier_data.prefill(APPRAISAL, "tham_dinh", HISTORY[:1]) == {}
    # The leader who returned the dossier decides afresh when it comes back: no 'tra_lai' preselected.
    assert "ket_qua" not in dossier_data.prefill(SIGNING, "ky_duyet", HISTORY)


def test_declared_fields_carry_forward_from_earlier_steps():
    assert dossier_data.prefill(SIGNING, "ky_duyet", HISTORY[:2]) == {
        "ho_ten_tre": "Nguyễn Văn Bé",
        "nguoi_nop": "Nguyễn Văn A",
    }


def test_the_leader_sees_the_latest_proposal_of_another_step_with_its_opinion():
    proposal = dossier_data.proposal(HISTORY, FORMS, "ky_duyet")
    assert (proposal.element_id, proposal.decision, proposal.decision_label, proposal.opinion) == (
        "tham_dinh",
        "khong_dat",
        "Không đủ",
        "Giấy chứng sinh tẩy xóa",
    )
    assert dossier_data.proposal(HISTORY[:1], {}, "tiep_nhan") is None


def test_a_reception_check_reopened_by_the_supplement_keeps_its_entries_but_not_the_request():
    reception = {"properties": {"ket_qua": {"enum": ["tiep_nhan", "bo_sung"]}, "nguoi_nop": {}, "noi_dung_bo_sung": {}}}
    asked = [
        step(
            1,
            "tiep_nhan",
            0,
            {"ket_qua": "bo_sung", "nguoi_nop": "Nguyễn Văn A", "noi_dung_bo_sung": "Giấy chứng sinh"},
            by="mot_cua_1",
        )
    ]
    assert dossier_data.prefill(reception, "tiep_nhan", asked) == {"nguoi_nop": "Nguyễn Văn A"}
