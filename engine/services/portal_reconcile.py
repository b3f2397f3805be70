"""Reconciliation with the portal: what it holds of a province's dossiers against what we hold
(status through the province's mapping, appointment), as a list of differences.

Neither side is read whole: for each agency of the province the portal's list and ours are read a
page at a time, both in ascending portal code, and compared as a merge join, so memory holds a page
of each and the differences found."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass

from engine.domain import portal
from engine.domain.errors import NotFound
from engine.services import portal_sync
from engine.services.portal_client import PortalClient
from engine.services.portal_client import PortalUnavailable
from engine.services.runtime import Runtime
from engine.store import portal_records

#: Dossiers read per page, from our database and from the portal.
PAGE_SIZE = 500


@dataclass
class Report:
    province_code: str
    ours: int
    portal: int
    differences: list[portal.Difference]


def reconcile(
    rt: Runtime,
    province_code: str | None = None,
    client_for: Callable[[object], PortalClient] | None = None,
    page_size: int = PAGE_SIZE,
) -> list[Report]:
    """One report per connected province (or the one named). Raises PortalUnavailable when a
    portal cannot be asked or lists its dossiers out of order."""
    client_for = client_for or portal_sync.client_for_setting
    with rt.db.read_session() as s:
        settings = [x for x in portal_records.all_settings(s) if province_code in (None, x.province_code)]
        if province_code and not settings:
            raise NotFound("province %(province)s has no portal settings", field="province", province=province_code)
        provinces = [(setting, portal_records.province_units(s, setting.province_code)) for setting in settings]
    return [_province_report(rt, setting, units, client_for(setting), page_size) for setting, units in provinces]


def _province_report(rt: Runtime, setting, units, client: PortalClient, page_size: int) -> Report:
    report = Report(setting.province_code, 0, 0, [])
    mapping = portal_sync.mapping(setting)
    for unit in sorted(units, key=lambda u: portal_sync.agency_id(setting, u)):
        ours = _counted(_ours(rt, setting, unit, mapping, page_size), report, "ours")
        theirs = _counted(_theirs(client, portal_sync.agency_id(setting, unit), page_size), report, "portal")
        try:
            report.differences.extend(portal.differences_in_order(ours, theirs))
        except portal.OutOfOrder as exc:
            raise PortalUnavailable(f"reconciliation of unit {unit.code}: {exc}") from None
    return report


def _counted(items: Iterator[tuple[str, dict]], report: Report, side: str) -> Iterator[tuple[str, dict]]:
    for item in items:
        setattr(report, side, getattr(report, side) + 1)
        yield item


def _ours(rt: Runtime, setting, unit, mapping: dict[int, int], page_size: int) -> Iterator[tuple[str, dict]]:
    """The unit's dossiers and its decided online submissions, merged in portal code order."""

    def dossier(row) -> tuple[str, dict]:
        code = portal.portal_dossier_code(row.code, portal_sync.agency_id(setting, unit), setting.platform_code)
        appointment = row.appointment_at.isoformat() if row.appointment_at else None
        return code, {"status": mapping.get(row.status, row.status), "appointment": appointment}

    def submission(row) -> tuple[str, dict]:
        return row.portal_code, {"status": mapping.get(row.status, row.status), "appointment": None}

    dossiers = map(dossier, _pages(rt, portal_records.dossier_page, unit.code, page_size))
    submissions = map(submission, _pages(rt, portal_records.decided_submission_page, unit.code, page_size))
    return heapq.merge(dossiers, submissions, key=lambda item: item[0])


def _pages(rt: Runtime, read_page, unit_code: str, page_size: int) -> Iterator:
    """Rows of a keyset-paged read, each page in a short read session of its own."""
    after = ""
    while True:
        with rt.db.read_session() as s:
            rows = read_page(s, unit_code, after, page_size)
        yield from rows
        if len(rows) < page_size:
            return
        after = rows[-1][0]


def _theirs(client: PortalClient, agency_id: str, page_size: int) -> Iterator[tuple[str, dict]]:
    after: str | None = ""
    while after is not None:
        items, cursor = client.dossier_page(agency_id, after, page_size)
        if cursor is not None and cursor <= after:
            raise PortalUnavailable(f"the portal's next page of agency {agency_id} starts at {cursor!r} again")
        after = cursor
        for item in items:
            yield item["MaHoSo"], {"status": item.get("TrangThaiHoSo"), "appointment": item.get("NgayHenTra")}
