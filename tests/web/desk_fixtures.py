"""Shared setup of the desk tests: the birth-registration procedure of the library with its
catalogue entry, and the officers its roles need in 00070 and 00073."""

from __future__ import annotations

import re

from configurator import catalogue
from configurator import library
from engine.store.records import UserRecord

BIRTH = "dang_ky_khai_sinh"
OFFICERS = (
    ("tu_phap_1", "Trần Tư Pháp", "00070", "tu_phap_ho_tich"),
    ("tu_phap_2", "Lê Hộ Tịch", "00070", "tu_phap_ho_tich"),
    ("mot_cua_x", "Phạm Một Cửa", "00073", "mot_cua"),
    ("tu_phap_x", "Vũ Tư Pháp", "00073", "tu_phap_ho_tich"),
)


def publish_birth_registration(rt):
    """Publish the procedure (and its catalogue entry); add officers with the shared test password."""
    procedure = next(p for p in library.procedures() if p.key == BIRTH)
    definition = library.load_one(rt, procedure)
    catalogue.import_json(rt, procedure.catalogue)
    add_officers(rt)
    return definition


def add_officers(rt) -> None:
    """The officers the procedure's roles need, with the reception clerk's (shared test) password."""
    with rt.db.session() as s:
        password_hash = s.get(UserRecord, "mot_cua_1").password_hash
        for username, name, unit, role in OFFICERS:
            s.add(
                UserRecord(username=username, full_name=name, unit_code=unit, roles=role, password_hash=password_hash)
            )
        s.get(UserRecord, "mot_cua_1").full_name = "Nguyễn Tiếp Nhận"


def item_ids(page: str) -> list[int]:
    """Work items linked from an inbox page, in the order shown."""
    return [int(i) for i in re.findall(r'href="/ban-lam-viec/buoc/(\d+)"', page)]


def tab_count(page: str, tab: str) -> int:
    return int(re.search(rf'data-count="{tab}">(\d+)<', page).group(1))
