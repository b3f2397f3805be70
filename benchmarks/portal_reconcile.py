"""What paging costs and saves `motcua portal reconcile` (issue 15): BENCH_DOSSIERS dossiers
(default 2,000) of one commune on SQLite, the simulator holding every one of them (one with another
status), reconciled over real HTTP a page at a time (BENCH_PAGE, default 500: both sides read by
keyset/cursor and merged) and in one page as large as the commune (what reading the whole province
at once amounted to). Python's allocations are traced (tracemalloc) during each reconciliation.

Prints each variant's time and peak memory, then one JSON object as the last line (ratios of the
paged run against the one-page baseline)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # calendar.py here would shadow the stdlib

from engine.clock import FrozenClock  # noqa: E402
from engine.services import dossiers  # noqa: E402
from engine.services import portal_admin  # noqa: E402
from engine.services import portal_reconcile  # noqa: E402
from engine.services import portal_simulator  # noqa: E402
from engine.services.portal_simulator import HELD_PAGE_MAX  # noqa: E402
from engine.services.portal_simulator import PortalSimulator  # noqa: E402
from engine.services.runtime import Runtime  # noqa: E402
from engine.store import migrate  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.database import make_engine  # noqa: E402
from tests.conftest import vn  # noqa: E402
from tests.factories import RECEPTION  # noqa: E402
from tests.factories import add_units  # noqa: E402
from tests.factories import deploy_fixture  # noqa: E402

DOSSIERS = int(os.environ.get("BENCH_DOSSIERS", "2000"))
AGENCY = "01.00070"  # unit 00070's agency code: no agency identifier configured
PAGE = min(int(os.environ.get("BENCH_PAGE", "500")), HELD_PAGE_MAX)


def commune(folder: Path, simulator: PortalSimulator) -> Runtime:
    url = f"sqlite:///{folder / 'reconcile'}.sqlite3"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    rt = Runtime(db=Database(url), clock=FrozenClock(vn(2026, 3, 2, 8, 0)), worker_id="bench")
    add_units(rt)
    definition = deploy_fixture(rt, "five_steps")
    portal_admin.configure(rt, "01", endpoint=simulator.url, token="t")
    for n in range(DOSSIERS):
        if n % 400 == 0:
            rt.clock.advance(days=1)  # the commune's daily sequence stays in four digits
        dossier = dossiers.start_dossier(
            rt, definition_id=definition.id, unit_code="00070", applicant_name=f"Nguyễn Văn {n}", actor=RECEPTION
        )
        status = 9 if n == DOSSIERS // 2 else dossier.status  # one drifted at the portal
        appointment = dossier.appointment_at.isoformat()
        simulator.state.holdings[dossier.code] = {"MaDonVi": AGENCY, "TrangThaiHoSo": status, "NgayHenTra": appointment}
    return rt


def measured(rt: Runtime, page: int) -> dict:
    tracemalloc.start()
    started = time.perf_counter()
    [report] = portal_reconcile.reconcile(rt, page_size=page)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (report.ours, report.portal, len(report.differences)) == (DOSSIERS, DOSSIERS, 1), report.differences[:3]
    return {"seconds": round(seconds, 3), "peak_mib": round(peak / 2**20, 2), "page": page}


def main() -> None:
    simulator = PortalSimulator(token="t").start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            rt = commune(Path(folder), simulator)
            whole_page = DOSSIERS + 1
            measured(rt, PAGE)  # warm-up
            paged = measured(rt, PAGE)
            portal_simulator.HELD_PAGE_MAX = whole_page  # the simulator caps its pages: not for this run
            one_page = measured(rt, whole_page)
            rt.db.dispose()
    finally:
        simulator.stop()
    for name, result in (("paged", paged), ("one_page", one_page)):
        print(f"{name:9} page {result['page']:6}  {result['seconds']:7.3f} s  peak {result['peak_mib']:7.2f} MiB")
    print(
        json.dumps(
            {
                "dossiers": DOSSIERS,
                "paged": paged,
                "one_page": one_page,
                "ratio_peak_paged_vs_one_page": round(paged["peak_mib"] / one_page["peak_mib"], 3),
                "ratio_time_paged_vs_one_page": round(paged["seconds"] / one_page["seconds"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
