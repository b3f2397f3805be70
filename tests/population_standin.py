"""A local stand-in for a province's integration platform (LGSP) in front of the national
population database: an OAuth2 client-credentials token endpoint and the lookup by ID number,
on 127.0.0.1 in a thread, with a few residents. The tests start it; nothing leaves the machine."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer

from tests import loopback
from tests.loopback import JsonHandler

RESIDENTS = {
    "001099012345": {
        "soDinhDanh": "001099012345",
        "hoVaTen": "Trần Thị Bình",
        "ngaySinh": "1999-04-12",
        "gioiTinh": "Nữ",
        "noiThuongTru": "12 Hàng Bài, Phường Hoàn Kiếm, Thành phố Hà Nội",
    },
    "001088000111": {
        "soDinhDanh": "001088000111",
        "hoVaTen": "Lê Văn Cường",
        "ngaySinh": "1988-01-30",
        "gioiTinh": "Nam",
        "noiThuongTru": "5 Tràng Tiền, Phường Cửa Nam, Thành phố Hà Nội",
    },
}
SECRET = "bi-mat-lgsp"
TOKEN = "token-thu-123"


class _Handler(JsonHandler):
    calls: list[dict]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if self.path == "/token":
            form = dict(urllib.parse.parse_qsl(body))
            if form.get("client_secret") != SECRET:
                return self.answer_json(401, {"error": "invalid_client"})
            return self.answer_json(200, {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300})
        if self.path == "/dancu/tra-cuu":
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.answer_json(401, {"error": "unauthorized"})
            number = json.loads(body).get("soDinhDanh")
            self.server.calls.append({"soDinhDanh": number})
            return self.answer_json(200, {"ketQua": RESIDENTS.get(number)})
        if self.path == "/hong":
            return self.answer_json(200, {"ketQua": {"hoVaTen": "thiếu số"}})
        self.answer_json(404, {"error": "not found"})


@contextmanager
def running() -> Iterator[ThreadingHTTPServer]:
    server = loopback.start(_Handler)
    server.calls = []
    try:
        yield server
    finally:
        loopback.stop(server)


def settings(server, province: str = "01", secret_env: str = "MOTCUA_TEST_LGSP_SECRET") -> dict:
    base = f"http://127.0.0.1:{server.server_port}"
    return {
        province: {
            "url": f"{base}/dancu/tra-cuu",
            "token_url": f"{base}/token",
            "client_id": "motcua",
            "client_secret_env": secret_env,
            "timeout_s": 3,
        }
    }
