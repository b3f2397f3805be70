"""The adapter to the National Public Service Portal: one interface (`PortalClient`) for what we
ask of it, and its HTTP implementation (JSON with a bearer token, the payloads of docs/portal.md)
that the simulator (engine.services.portal_simulator) speaks too."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Protocol
from urllib.parse import quote
from urllib.parse import urlencode

from engine.services.channels import Undeliverable


class PortalUnavailable(Exception):
    """The portal could not take the request now (down, slow, 5xx): try again later."""


class PortalClient(Protocol):
    def sync(self, payload: dict) -> dict:
        """Push one dossier event (DongBoHoSoMC); returns the portal's acknowledgement."""

    def submissions(self, agency_ids: list[str]) -> list[dict]:
        """Dossiers citizens submitted online for these agencies, not yet taken by us."""

    def taken(self, submission_code: str) -> None:
        """Tell the portal we hold the submission (it stops offering it)."""

    def dossier_page(self, agency_id: str, after: str, limit: int) -> tuple[list[dict], str | None]:
        """One page of what the portal holds of an agency's dossiers, in ascending MaHoSo after
        `after`: ([{MaHoSo, TrangThaiHoSo, NgayHenTra}], the cursor of the next page or None)."""


class HttpPortalClient:
    def __init__(self, endpoint: str, token: str, timeout: float = 10.0):
        self.endpoint, self.token, self.timeout = endpoint.rstrip("/"), token, timeout

    def sync(self, payload: dict) -> dict:
        answer = self._call("POST", "/api/dongbo/hoso", payload)
        if answer.get("ack") != payload["event_id"]:
            raise PortalUnavailable(f"the portal acknowledged {answer.get('ack')!r}, not {payload['event_id']!r}")
        return answer

    def submissions(self, agency_ids: list[str]) -> list[dict]:
        return self._call("GET", "/api/hoso-truc-tuyen?" + urlencode({"ma_don_vi": ",".join(agency_ids)}))["items"]

    def taken(self, submission_code: str) -> None:
        self._call("POST", f"/api/hoso-truc-tuyen/{quote(submission_code, safe='')}/da-nhan", {})

    def dossier_page(self, agency_id: str, after: str, limit: int) -> tuple[list[dict], str | None]:
        query = urlencode({"ma_don_vi": agency_id, "sau": after, "so_luong": limit})
        answer = self._call("GET", "/api/hoso?" + query)
        return answer["items"], answer.get("tiep")

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        request = urllib.request.Request(
            self.endpoint + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            text = exc.read()[:500].decode("utf-8", "replace")
            if 400 <= exc.code < 500 and exc.code not in (401, 408, 429):
                # The portal read the payload and refuses it: sending it again cannot help.
                raise Undeliverable(f"the portal refused {method} {path}: HTTP {exc.code} {text}") from None
            raise PortalUnavailable(f"{method} {path}: HTTP {exc.code} {text}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise PortalUnavailable(f"{method} {path}: {exc}") from None
