"""The workflows this process last saved, kept in memory so that the dossier's next change can
skip deserializing its state (a third of what SpiffWorkflow costs per step).

An entry is handed out only for the very state it was saved as: the caller passes the state text
it read in its own transaction, and the entry is used only when that text is the one the workflow
was dumped to, under the same parsed spec. Whatever changed the dossier meanwhile (another worker,
another process, a migration) changed its state text too, and the state is then loaded as usual.
An entry is taken out when handed over: a change that fails leaves nothing half-run behind, and
two threads never share a workflow. A workflow is kept once its change is done with it, so one
that leaves the cache otherwise (pushed out by newer ones, replaced, found stale) is used by no
one and is taken apart (`_let_go`).
"""

from __future__ import annotations

from SpiffWorkflow.bpmn import BpmnWorkflow

from engine.bpmn.parser import SpecBundle
from engine.handover import Handover

#: Dossiers kept; a workflow of a five-step procedure is a few tens of kilobytes in memory.
KEPT = 64


class RunCache:
    def __init__(self, size: int = KEPT):
        self._entries: Handover[int, tuple[str, BpmnWorkflow]] = Handover(size)
        self.hits = 0
        self.misses = 0

    def take(self, dossier_id: int, state: str, bundle: SpecBundle) -> BpmnWorkflow | None:
        """The workflow saved as `state` under `bundle`'s spec, removed from the cache; None when
        this process did not save that very state."""
        entry = self._entries.take(dossier_id)
        if entry is not None and entry[0] == state and entry[1].spec is bundle.spec:
            self.hits += 1
            return entry[1]
        self.misses += 1
        if entry is not None:
            _let_go(entry[1])
        return None

    def keep(self, dossier_id: int, state: str, workflow: BpmnWorkflow) -> None:
        """Remember `workflow` as saved in `state`, once the transaction that saved it committed;
        the caller uses it no more (another thread may take it from here)."""
        for _, left in self._entries.keep(dossier_id, (state, workflow)):
            # `workflow` itself comes back kept again under its key, or pushed out by a size of 0.
            if left is not workflow or self._entries.size == 0:
                _let_go(left)

    def clear(self) -> None:
        for _, left in self._entries.clear():
            _let_go(left)


def _let_go(workflow: BpmnWorkflow) -> None:
    """Free a workflow no change will use again by reference counting, at once, rather than leave
    it to the cyclic garbage collector: its tasks point back to it (`Task.workflow`), as do its
    event manager and its subprocesses, so a task tree dropped as it is stays in memory until a
    collection walks it, and every tree a process drops adds a few hundred objects to the count
    that sets off collections (one every few changes once a process serves more dossiers than it
    keeps). SpiffWorkflow's tasks name one another by id only: emptying the attributes of the
    workflow and of its subprocesses unlinks every cycle (tests/engine/test_saved_runs.py checks
    that nothing of the tree is left for the collector)."""
    for held in (*workflow.subprocesses.values(), workflow):
        vars(held).clear()
