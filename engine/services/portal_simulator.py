"""A stand-in for the National Public Service Portal (`motcua portal simulate`): a small HTTP
server speaking the payloads of docs/portal.md. It receives dossier syncs (dropping a repeated
event by its id, as the portal does), offers dossiers submitted online for pulling, pushes them to
our API when told where, answers reconciliation queries, and can be told to misbehave (answer
500, be slow, refuse a payload, drop the connection) so the adapter is tested over real HTTP."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlparse

log = logging.getLogger("motcua.portal_simulator")

#: What the simulator does with the next sync requests, one mode each (then back to "ok").
MODES = ("ok", "error500", "slow", "refuse", "drop")
#: The most dossiers one reconciliation page lists (`so_luong` is capped to it).
HELD_PAGE_MAX = 500


@dataclass
class PortalState:
    token: str
    events: list[dict] = field(default_factory=list)  # each distinct event once, in arrival order
    deliveries: int = 0  # every sync request that reached the portal, repeats included
    duplicates: int = 0
    holdings: dict[str, dict] = field(default_factory=dict)  # MaHoSo -> the latest payload
    submissions: dict[str, dict] = field(default_factory=dict)  # MaHoSoCong -> submission
    taken: set[str] = field(default_factory=set)
    modes: list[str] = field(default_factory=list)
    held_pages: int = 0  # reconciliation pages served
    slow_seconds: float = 3.0
    push_url: str | None = None
    push_token: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_mode(self) -> str:
        with self.lock:
            return self.modes.pop(0) if self.modes else "ok"

    def receive(self, payload: dict) -> bool:
        """Record a sync; False when its event id was seen before (acknowledged again, counted once)."""
        with self.lock:
            self.deliveries += 1
            if any(e["event_id"] == payload["event_id"] for e in self.events):
                self.duplicates += 1
                return False
            self.events.append(payload)
            self.holdings[payload["MaHoSo"]] = payload
            if payload.get("MaHoSoCong") and payload["MaHoSoCong"] != payload["MaHoSo"]:
                self.holdings.pop(payload["MaHoSoCong"], None)  # the submission became this dossier
            return True

    def submit(self, submission: dict) -> dict:
        submission = {"NgayNop": datetime.now(UTC).isoformat(), "TepDinhKem": [], **submission}
        with self.lock:
            self.submissions[submission["MaHoSoCong"]] = submission
            self.taken.discard(submission["MaHoSoCong"])
        return submission

    def offered(self, agencies: set[str]) -> list[dict]:
        with self.lock:
            return [
                s
                for code, s in self.submissions.items()
                if code not in self.taken and (not agencies or s.get("MaDonVi") in agencies)
            ]

    def held(self, agencies: set[str], after: str = "", limit: int = HELD_PAGE_MAX) -> dict:
        """One page of the holdings in ascending MaHoSo after `after`, and the next page's cursor."""
        with self.lock:
            self.held_pages += 1
            codes = sorted(
                code
                for code, p in self.holdings.items()
                if code > after and (not agencies or p.get("MaDonVi") in agencies)
            )
            page = [
                {
                    "MaHoSo": code,
                    "TrangThaiHoSo": self.holdings[code].get("TrangThaiHoSo"),
                    "NgayHenTra": self.holdings[code].get("NgayHenTra"),
                }
                for code in codes[:limit]
            ]
        return {"items": page, "tiep": page[-1]["MaHoSo"] if len(codes) > limit else None}


class _Handler(BaseHTTPRequestHandler):
    state: PortalState
    server_version = "PortalSimulator/1"

    def log_message(self, fmt, *args):  # the test output stays readable; the logger keeps it
        log.debug("%s " + fmt, self.address_string(), *args)

    def do_GET(self):
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        agencies = {a for a in query.get("ma_don_vi", "").split(",") if a}
        if url.path == "/_sim/received":
            return self._json(
                200,
                {"events": self.state.events, "deliveries": self.state.deliveries, "duplicates": self.state.duplicates},
            )
        if not self._authorised():
            return
        if url.path == "/api/hoso-truc-tuyen":
            return self._json(200, {"items": self.state.offered(agencies)})
        if url.path == "/api/hoso":
            size = query.get("so_luong") or str(HELD_PAGE_MAX)
            if not size.isdigit() or int(size) < 1:
                return self._json(400, {"error": "so_luong must be a positive whole number"})
            return self._json(200, self.state.held(agencies, query.get("sau", ""), min(int(size), HELD_PAGE_MAX)))
        self._json(404, {"error": "not found"})

    def do_POST(self):
        url = urlparse(self.path)
        body = self._body()
        if body is None:
            return self._json(400, {"error": "the body is not JSON"})
        if url.path == "/_sim/behave":
            with self.state.lock:
                self.state.modes.extend(m for m in body.get("modes", []) if m in MODES)
            return self._json(200, {"modes": self.state.modes})
        if url.path == "/_sim/submit":
            submission = self.state.submit(body)
            return self._json(201, {"submission": submission, "pushed": push(self.state, submission)})
        if not self._authorised():
            return
        if url.path == "/api/dongbo/hoso":
            return self._sync(body)
        if url.path.startswith("/api/hoso-truc-tuyen/") and url.path.endswith("/da-nhan"):
            code = unquote(url.path[len("/api/hoso-truc-tuyen/") : -len("/da-nhan")])
            with self.state.lock:
                self.state.taken.add(code)
            return self._json(200, {"taken": code})
        self._json(404, {"error": "not found"})

    def _sync(self, payload: dict):
        mode = self.state.next_mode()
        if mode == "drop":
            self.close_connection = True
            self.connection.close()
            return
        if mode == "error500":
            return self._json(500, {"error": "internal error"})
        missing = [name for name in ("event_id", "MaHoSo", "TrangThaiHoSo") if not payload.get(name)]
        if mode == "refuse" or missing:
            return self._json(422, {"error": "payload refused", "missing": missing or ["(told to refuse)"]})
        fresh = self.state.receive(payload)
        if mode == "slow":  # the portal took it, its answer comes too late: the sender will send again
            time.sleep(self.state.slow_seconds)
        self._json(200, {"ack": payload["event_id"], "duplicate": not fresh})

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {self.state.token}":
            self._json(401, {"error": "unauthorised"})
            return False
        return True

    def _body(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return None

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False, default=str).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the sender gave up waiting (timeout)
            pass


def push(state: PortalState, submission: dict) -> bool:
    """Send a submission to our intake API when the simulator knows where; False when it did not
    go (it stays offered for pulling either way until taken)."""
    if not state.push_url:
        return False
    request = urllib.request.Request(
        state.push_url,
        data=json.dumps(submission, ensure_ascii=False).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {state.push_token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return 200 <= response.status < 300
    except Exception as exc:  # noqa: BLE001 - the simulator goes on; the dossier can still be pulled
        log.warning("push of %s failed: %s", submission.get("MaHoSoCong"), exc)
        return False


class PortalSimulator:
    """The simulator on a port of this machine, served from a thread (tests) or the foreground (CLI)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "portal-demo-token",
        push_url: str | None = None,
        push_token: str | None = None,
    ):
        self.state = PortalState(token=token, push_url=push_url, push_token=push_token)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PortalSimulator:
        self._thread = threading.Thread(target=self.server.serve_forever, name="portal-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def serve_forever(self) -> None:
        self.server.serve_forever()
