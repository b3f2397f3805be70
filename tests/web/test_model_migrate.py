"""Moving running dossiers to a newer version from the modeller's pages: each dossier checked and
shown with its reason when it may not move; the movable ones moved with one action."""

from __future__ import annotations

import html

from engine.store.records import DossierRecord
from tests.configurator.test_versions import FIVE
from tests.configurator.test_versions import complete
from tests.configurator.test_versions import deploy
from tests.configurator.test_versions import start
from tests.configurator.test_versions import with_check_step
from tests.web.conftest import csrf_token
from tests.web.conftest import login


def test_the_modeller_sees_which_dossiers_may_move_and_moves_them(client, web_rt):
    v1 = deploy(web_rt, FIVE)
    waiting = start(web_rt, v1)  # still at reception: nothing it did changes in v2
    advanced = start(web_rt, v1)
    for _ in range(4):  # past the drafting step, which v2 rewires
        complete(web_rt, advanced.id, {"hop_le": True})
    v2 = deploy(web_rt, with_check_step(FIVE))
    login(client, "mo_hinh")

    page = html.unescape(client.get("/mo-hinh/five_steps/chuyen-phien-ban").get_data(as_text=True))

    assert "2 hồ sơ của các xã, phường đang xử lý theo phiên bản 1; 1 trong 2 hồ sơ đầu tiên chuyển được" in page
    assert waiting.code in page and advanced.code in page
    assert "bước du_thao (hoàn thành) đã bị sửa ở phiên bản đích" in page  # the reason, in Vietnamese
    moved = client.post(
        "/mo-hinh/five_steps/chuyen-phien-ban", data={"csrf_token": csrf_token(page), "tu": 1, "den": 2}
    )
    assert moved.status_code == 302
    with web_rt.db.read_session() as s:
        assert s.get(DossierRecord, waiting.id).definition_id == v2.id
        assert s.get(DossierRecord, advanced.id).definition_id == v1.id
    after = html.unescape(client.get("/mo-hinh/five_steps/chuyen-phien-ban?tu=1&den=2").get_data(as_text=True))
    assert "Đã chuyển 1 hồ sơ sang phiên bản 2" in after and waiting.code not in after


def test_choosing_versions_that_cannot_be_compared_says_so(client, web_rt):
    deploy(web_rt, FIVE)
    login(client, "mo_hinh")
    only_one = client.get("/mo-hinh/five_steps/chuyen-phien-ban").get_data(as_text=True)
    assert "chưa có hai phiên bản đã công bố" in only_one
    deploy(web_rt, with_check_step(FIVE))
    same = client.get("/mo-hinh/five_steps/chuyen-phien-ban?tu=2&den=2")
    assert same.status_code == 400 and "Hãy chọn hai phiên bản khác nhau." in same.get_data(as_text=True)


def test_the_dossiers_come_in_batches_with_a_link_to_the_next(client, web_rt, monkeypatch):
    from configurator import versions

    monkeypatch.setattr(versions, "MIGRATION_BATCH", 1)
    v1 = deploy(web_rt, FIVE)
    first, second = start(web_rt, v1), start(web_rt, v1)
    deploy(web_rt, with_check_step(FIVE))
    login(client, "mo_hinh")
    page = html.unescape(client.get("/mo-hinh/five_steps/chuyen-phien-ban").get_data(as_text=True))
    assert first.code in page and second.code not in page and 'id="next-batch"' in page
    following = html.unescape(
        client.get(f"/mo-hinh/five_steps/chuyen-phien-ban?tu=1&den=2&sau={first.id}").get_data(as_text=True)
    )
    assert second.code in following and first.code not in following
