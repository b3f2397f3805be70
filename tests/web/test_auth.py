"""Signing in and out: hashed passwords, CSRF on every form, failed log-ins rate limited."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.store.records import UserRecord
from tests.web.conftest import PASSWORD
from tests.web.conftest import csrf_token
from tests.web.conftest import login


def test_a_clerk_signs_in_and_lands_on_their_home_page_then_signs_out(client, web_rt):
    answer = login(client, "chuyen_vien_1")
    assert answer.status_code == 302
    home = client.get(answer.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "chuyen_vien_1" in home and "Đăng xuất" in home
    token = csrf_token(home)
    assert client.post("/dang-xuat", data={"csrf_token": token}).status_code == 302
    assert client.get("/trang-chu").status_code == 302  # signed out: back to the log-in page


def test_passwords_are_stored_hashed(web_rt):
    with web_rt.db.read_session() as s:
        stored = s.scalar(select(UserRecord.password_hash).where(UserRecord.username == "chuyen_vien_1"))
    assert PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client):
    wrong = login(client, "chuyen_vien_1", "sai-mat-khau")
    unknown = login(client, "khong_ton_tai", "sai-mat-khau")
    assert wrong.status_code == unknown.status_code == 401
    message = "Tên đăng nhập hoặc mật khẩu không đúng."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_five_failures_lock_the_account_for_fifteen_minutes_even_with_the_right_password(client, clock):
    for _ in range(5):
        login(client, "lanh_dao_1", "doan-mo")
    locked = login(client, "lanh_dao_1")
    assert locked.status_code == 401 and "quá nhiều lần" in locked.get_data(as_text=True)
    assert login(client, "chuyen_vien_1").status_code == 302  # other accounts are not locked
    clock.advance(timedelta(minutes=16))
    assert login(client, "lanh_dao_1").status_code == 302


def test_a_form_posted_without_its_csrf_token_is_refused(client):
    answer = client.post("/dang-nhap", data={"username": "chuyen_vien_1", "password": PASSWORD})
    assert answer.status_code == 400
    assert "CSRF" in answer.get_data(as_text=True)


def test_after_signing_in_only_a_local_next_page_is_followed(client):
    token = csrf_token(client.get("/dang-nhap").get_data(as_text=True))
    answer = client.post(
        "/dang-nhap?next=https://evil.example/x",
        data={"username": "chuyen_vien_1", "password": PASSWORD, "csrf_token": token},
    )
    assert answer.headers["Location"] == "/trang-chu"


def test_the_interface_is_vietnamese_by_default_and_english_on_request(client):
    assert "Tra cứu tình trạng hồ sơ" in client.get("/tra-cuu").get_data(as_text=True)
    client.get("/ngon-ngu/en?next=/tra-cuu")
    english = client.get("/tra-cuu").get_data(as_text=True)
    assert "Look up a dossier" in english and "Dossier lookup" in english and 'lang="en"' in english
    assert client.get("/ngon-ngu/vi?next=https://evil.example").headers["Location"] == "/"


def test_without_a_configured_key_workers_share_one_kept_in_the_instance_folder(tmp_path):
    import stat

    from web.config import _development_key

    key = _development_key(tmp_path / "secret_key")  # the first worker writes it
    assert len(key) == 64 and _development_key(tmp_path / "secret_key") == key  # the others read it
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
