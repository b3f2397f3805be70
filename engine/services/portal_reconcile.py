"""Reconciliation with the portal: what it holds of a province's dossiers against what we hold
(status through the province's mapping, appointment), as a list of differences."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.domain import portal
from engine.domain.errors import NotFound
from engine.services import portal_sync
from engine.services.portal_client import PortalClient
from engine.services.runtime import Runtime
from engine.store import portal_records


@dataclass(frozen=True)
class Report:
    province_code: str
    ours: int
    portal: int
    differences: list[portal.Difference]


def reconcile(
    rt: Runtime, province_code: str | None = None, client_for: Callable[[object], PortalClient] | None = None
) -> list[Report]:
    """One report per connected province (or the one named). Raises PortalUnavailable when a
    portal cannot be asked."""
    client_for = client_for or portal_sync.client_for_setting
    with rt.db.read_session() as s:
        settings = [x for x in portal_records.all_settings(s) if province_code in (None, x.province_code)]
        if province_code and not settings:
            raise NotFound("province %(province)s has no portal settings", field="province", province=province_code)
        views = [(setting, *_ours(s, setting)) for setting in settings]
    reports = []
    for setting, agencies, ours in views:
        held = {
            item["MaHoSo"]: {"status": item.get("TrangThaiHoSo"), "appointment": item.get("NgayHenTra")}
            for item in client_for(setting).dossiers(agencies)
        }
        reports.append(Report(setting.province_code, len(ours), len(held), portal.differences(ours, held)))
    return reports


def _ours(s, setting) -> tuple[list[str], dict[str, dict]]:
    units = {u.code: u for u in portal_records.province_units(s, setting.province_code)}
    mapping = portal_sync.mapping(setting)
    ours = {}
    for dossier in portal_records.province_dossiers(s, list(units)):
        code = portal_sync.dossier_portal_code(setting, units[dossier.unit_code], dossier)
        ours[code] = {
            "status": mapping.get(dossier.status, dossier.status),
            "appointment": dossier.appointment_at.isoformat() if dossier.appointment_at else None,
        }
    for row in portal_records.decided_submissions(s, list(units)):
        ours[row.portal_code] = {"status": mapping.get(row.status, row.status), "appointment": None}
    return [portal_sync.agency_id(setting, u) for u in units.values()], ours
