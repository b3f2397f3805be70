"""The engine's refusals as the desk shows them: in Vietnamese when known, as they came otherwise."""

from __future__ import annotations

from web.refusals import in_vietnamese


def test_known_refusals_are_translated_with_their_names():
    assert in_vietnamese("the step needs role 'lanh_dao'; tu_phap_1 has tu_phap_ho_tich") == \
        "Bước này cần vai trò lanh_dao; tu_phap_1 có vai trò tu_phap_ho_tich."
    assert in_vietnamese("step 'Ký duyệt' is already completed by lanh_dao_1") == \
        "Bước “Ký duyệt” đã hoàn thành bởi lanh_dao_1."
    assert in_vietnamese("tu_phap_2 does not have role 'mot_cua'; declare the absence for a role they hold") == \
        "tu_phap_2 không có vai trò mot_cua. Hãy đăng ký vắng mặt cho một vai trò người đó có."


def test_an_unknown_refusal_is_shown_as_it_came():
    assert in_vietnamese("something new went wrong") == "something new went wrong"


def test_every_page_shows_an_engine_refusal_in_vietnamese(app):
    """Not only the desk: the shared error page translates too (here a refusal raised by a view)."""
    from engine.domain.errors import PermissionDenied

    @app.get("/thu-tu-choi")
    def refuse():
        raise PermissionDenied("only a leader of unit 00070 may issue the apology letter for dossier X-1")

    page = app.test_client().get("/thu-tu-choi")
    assert page.status_code == 403
    assert "Chỉ lãnh đạo đơn vị 00070 được lập phiếu xin lỗi và hẹn lại cho hồ sơ X-1." in page.get_data(as_text=True)
