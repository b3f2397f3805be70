"""The steps this process's changes created and that template code follows (SQLite only), kept
with their dossier as committed, so that completing one can run that code on a snapshot at once.

Without them, such a completion takes SQLite's write lock, reads the step, finds code to run
and gives the lock back, runs the code on a snapshot, then takes the lock and reads the step
again (engine.services.dossiers.complete_work_item): the first lock and read were a fifth of
the completion. The write still reads the step and its dossier under the lock and uses the
snapshot's run only when neither moved since (their versions), so a step changed elsewhere
meanwhile costs only that run. An entry is taken out when handed over: two threads never share
one, and a completion that fails leaves nothing behind.
"""

from __future__ import annotations

from engine.handover import Handover
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord

#: Steps kept; each holds its dossier's row, whose state is a few kilobytes.
KEPT = 256


class KeptSteps:
    def __init__(self, size: int = KEPT):
        self._entries: Handover[int, tuple[WorkItemRecord, DossierRecord]] = Handover(size)

    def keep(self, item: WorkItemRecord, dossier: DossierRecord) -> None:
        """Remember the step and its dossier as the transaction that wrote them committed them."""
        self._entries.keep(item.id, (item, dossier))

    def take(self, work_item_id: int) -> tuple[WorkItemRecord, DossierRecord] | None:
        """The step and its dossier as this process last wrote them, removed; None when not kept."""
        return self._entries.take(work_item_id)
