"""Administrative units from the vietnam-provinces package (the post-July-2025 map)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from vietnam_provinces import Province
from vietnam_provinces import Ward


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str
    parent_code: str | None
    agency_code: str


def province_code(code: int) -> str:
    return f"{code:02d}"


def ward_code(code: int) -> str:
    return f"{code:05d}"


def find_province(name_or_codename: str) -> Province:
    for province in Province.iter_all():
        if name_or_codename in (province.codename, province.name) or name_or_codename == province_code(
            province.code.value
        ):
            return province
    raise LookupError(f"no province {name_or_codename!r} in vietnam-provinces")


def units_of_province(name_or_codename: str = "ha_noi") -> list[Unit]:
    """The province and all its communes and wards, with official codes.

    The agency code that prefixes dossier codes is `<province>.<ward>` (e.g. 01.00070): the
    official identifiers of Decision 20/2020/QĐ-TTg are not in the package, so this is the
    project's assumption until each province enters its own.
    """
    province = find_province(name_or_codename)
    pcode = province_code(province.code.value)
    units = [Unit(pcode, province.name, "province", None, pcode)]
    for ward in Ward.iter_all():
        if ward.province_code.value == province.code.value:
            wcode = ward_code(ward.code.value)
            units.append(Unit(wcode, ward.name, "commune", pcode, f"{pcode}.{wcode}"))
    return units


@lru_cache(maxsize=1)
def _province_of_ward() -> dict[int, str]:
    return {ward.code.value: f"{ward.province_code.value:02d}" for ward in Ward.iter_all()}


def province_of_ward(code: int) -> str | None:
    """The two-digit code of the province a ward (or commune) belongs to; None for an unknown code."""
    return _province_of_ward().get(code)
