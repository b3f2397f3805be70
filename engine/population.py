"""Lookup of a citizen in the national population database (Cơ sở dữ liệu quốc gia về dân cư) by
personal identification number, through the province's integration platform (LGSP, which relays
to the national data-sharing platform NDXP). One interface, `PopulationRegistry`; one adapter per
way of reaching it, chosen per province by the settings file MOTCUA_POPULATION_CONFIG
(docs/population.md):

    {"01": {"url": "https://lgsp.hanoi.gov.vn/dancu/v1", "token_url": "https://lgsp.../token",
            "client_id": "motcua", "client_secret_env": "MOTCUA_LGSP_SECRET_01", "timeout_s": 5}}

What comes back fills the reception form and nothing else: the adapter keeps no copy, and the
dossier stores only what the officer saves with it.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from engine.domain.citizen_store import is_personal_id
from engine.domain.errors import InvalidAction

CONFIG_VARIABLE = "MOTCUA_POPULATION_CONFIG"


class PopulationUnavailable(InvalidAction):
    """The platform did not answer usefully (down, refused our credentials, answered nonsense)."""


@dataclass(frozen=True)
class Resident:
    """What reception needs from the population database: no more."""

    id_number: str
    full_name: str
    birth_date: str | None = None
    gender: str | None = None
    permanent_address: str | None = None


class PopulationRegistry(Protocol):
    def look_up(self, id_number: str) -> Resident | None:
        """The resident with this number; None when the database has nobody by it."""


@dataclass(frozen=True)
class LgspSettings:
    url: str
    token_url: str | None = None
    client_id: str | None = None
    client_secret_env: str | None = None
    timeout_s: float = 5.0


class LgspPopulationClient:
    """The province's LGSP: an OAuth2 client-credentials token, then a POST of the number to the
    population service, answering {"ketQua": {"soDinhDanh", "hoVaTen", "ngaySinh", "gioiTinh",
    "noiThuongTru"}} or {"ketQua": null} (the shape the stand-in of the tests answers; a province
    whose LGSP names fields otherwise adds an adapter of its own behind the same interface)."""

    def __init__(self, settings: LgspSettings):
        self.settings = settings

    def look_up(self, id_number: str) -> Resident | None:
        if not is_personal_id(id_number):
            raise InvalidAction("a personal identification number has 12 digits", field="id_number")
        answer = self._post(self.settings.url, {"soDinhDanh": id_number}, self._token())
        found = answer.get("ketQua") if isinstance(answer, dict) else None
        if not found:
            return None
        try:
            return Resident(
                id_number=str(found["soDinhDanh"]),
                full_name=str(found["hoVaTen"]),
                birth_date=found.get("ngaySinh"),
                gender=found.get("gioiTinh"),
                permanent_address=found.get("noiThuongTru"),
            )
        except (KeyError, TypeError, AttributeError):
            raise PopulationUnavailable("the population service answered without a name or number") from None

    def _token(self) -> str | None:
        s = self.settings
        if not s.token_url:
            return None
        secret = os.environ.get(s.client_secret_env or "", "")
        body = urllib.parse.urlencode(
            {"grant_type": "client_credentials", "client_id": s.client_id or "", "client_secret": secret}
        ).encode()
        answer = self._send(
            urllib.request.Request(
                s.token_url, data=body, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
            )
        )
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not token:
            raise PopulationUnavailable("the integration platform gave no access token")
        return token

    def _post(self, url: str, payload: dict, token: str | None):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self._send(
            urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST", headers=headers)
        )

    def _send(self, request: urllib.request.Request):
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise PopulationUnavailable("the population service answered HTTP %(status)s", status=exc.code) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise PopulationUnavailable(
                "the population service cannot be reached: %(error)s", error=str(getattr(exc, "reason", exc))
            ) from None
        except ValueError:
            raise PopulationUnavailable("the population service answered something that is not JSON") from None


def registry_for(chain: Iterable[str], config_path: str | None = None) -> PopulationRegistry | None:
    """The registry of the first unit of `chain` (a commune, then its province) that has settings;
    None where none is configured (reception then fills from the data store alone)."""
    path = config_path or os.environ.get(CONFIG_VARIABLE)
    if not path:
        return None
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PopulationUnavailable(
            "population settings %(path)s cannot be read: %(error)s", path=path, error=str(exc)
        ) from None
    for code in chain:
        entry = raw.get(code)
        if isinstance(entry, dict) and entry.get("url"):
            return LgspPopulationClient(
                LgspSettings(
                    url=entry["url"],
                    token_url=entry.get("token_url"),
                    client_id=entry.get("client_id"),
                    client_secret_env=entry.get("client_secret_env"),
                    timeout_s=float(entry.get("timeout_s", 5)),
                )
            )
    return None
