"""The officers' notification centre: what the worker delivered in the app shows in the top bar's
count and the list; marking read is one's own."""

from __future__ import annotations

import re

from engine.services import outbox
from engine.services.delivery import default_channels
from tests.web.conftest import csrf_token
from tests.web.conftest import login


def deliver(rt, clock, recipient, *subjects):
    with rt.db.session() as s:
        for subject in subjects:
            outbox.enqueue(
                s,
                key=f"{recipient}:{subject}",
                channel="in_app",
                recipient=recipient,
                subject=subject,
                body=f"Nội dung: {subject}",
                now=clock.now(),
            )
    outbox.deliver_due(rt, default_channels())


def badge(client) -> int:
    found = re.search(r'data-unread="(\d+)"', client.get("/thong-bao/so-chua-doc").get_data(as_text=True))
    return int(found.group(1)) if found else 0


def test_unread_count_list_and_mark_read(client, web_rt, clock):
    deliver(web_rt, clock, "chuyen_vien_1", "Sắp đến hạn: Thẩm định", "Quá hạn: Thẩm định")
    deliver(web_rt, clock, "lanh_dao_1", "Đề nghị thư xin lỗi")
    login(client, "chuyen_vien_1")

    page = client.get("/ban-lam-viec/").get_data(as_text=True)
    assert 'hx-get="/thong-bao/so-chua-doc"' in page  # every page's top bar asks for the count
    assert badge(client) == 2
    page = client.get("/thong-bao").get_data(as_text=True)
    assert page.count('class="notice unread"') == 2 and "Đề nghị thư xin lỗi" not in page  # not another's
    first = int(re.search(r'data-notice="(\d+)"', page).group(1))

    client.post(f"/thong-bao/{first}/da-doc", data={"csrf_token": csrf_token(page)})
    assert badge(client) == 1
    page = client.get("/thong-bao?chua-doc=1").get_data(as_text=True)
    assert page.count('class="notice unread"') == 1 and f'data-notice="{first}"' not in page

    client.post("/thong-bao/da-doc-tat-ca", data={"csrf_token": csrf_token(page)})
    assert badge(client) == 0
    assert 'class="notice unread"' not in client.get("/thong-bao").get_data(as_text=True)


def test_one_cannot_mark_anothers_notice_read(client, web_rt, clock):
    deliver(web_rt, clock, "lanh_dao_1", "Đề nghị thư xin lỗi")
    login(client, "chuyen_vien_1")
    page = client.get("/thong-bao").get_data(as_text=True)
    client.post("/thong-bao/1/da-doc", data={"csrf_token": csrf_token(page)})
    client.post("/thong-bao/da-doc-tat-ca", data={"csrf_token": csrf_token(page)})
    client.post("/dang-xuat", data={"csrf_token": csrf_token(page)})
    login(client, "lanh_dao_1")
    assert badge(client) == 1


def test_signed_out_visitors_get_no_count(client):
    assert client.get("/thong-bao/so-chua-doc").status_code in (302, 401)
