"""The engine's refusals as the desk shows them: in Vietnamese when known, as they came otherwise."""

from __future__ import annotations

from web.desk.refusals import in_vietnamese


def test_known_refusals_are_translated_with_their_names():
    assert in_vietnamese("the step needs role 'lanh_dao'; tu_phap_1 has tu_phap_ho_tich") == \
        "Bước này cần vai trò lanh_dao; tu_phap_1 có vai trò tu_phap_ho_tich."
    assert in_vietnamese("step 'Ký duyệt' is already completed by lanh_dao_1") == \
        "Bước “Ký duyệt” đã hoàn thành bởi lanh_dao_1."
    assert in_vietnamese("tu_phap_2 does not have role 'mot_cua'; declare the absence for a role they hold") == \
        "tu_phap_2 không có vai trò mot_cua. Hãy đăng ký vắng mặt cho một vai trò người đó có."


def test_an_unknown_refusal_is_shown_as_it_came():
    assert in_vietnamese("something new went wrong") == "something new went wrong"
