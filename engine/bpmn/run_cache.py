"""The workflows this process last saved, kept in memory so that the dossier's next change can
skip deserializing its state (a third of what SpiffWorkflow costs per step).

An entry is handed out only for the very state it was saved as: the caller passes the state text
it read in its own transaction, and the entry is used only when that text is the one the workflow
was dumped to, under the same parsed spec. Whatever changed the dossier meanwhile (another worker,
another process, a migration) changed its state text too, and the state is then loaded as usual.
An entry is taken out when handed over: a change that fails leaves nothing half-run behind, and
two threads never share a workflow.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from SpiffWorkflow.bpmn import BpmnWorkflow

from engine.bpmn.parser import SpecBundle

#: Dossiers kept; a workflow of a five-step procedure is a few tens of kilobytes in memory.
KEPT = 64


class RunCache:
    def __init__(self, size: int = KEPT):
        self.size = size
        self._entries: OrderedDict[int, tuple[str, BpmnWorkflow]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def take(self, dossier_id: int, state: str, bundle: SpecBundle) -> BpmnWorkflow | None:
        """The workflow saved as `state` under `bundle`'s spec, removed from the cache; None when
        this process did not save that very state."""
        with self._lock:
            entry = self._entries.pop(dossier_id, None)
        if entry is not None and entry[0] == state and entry[1].spec is bundle.spec:
            self.hits += 1
            return entry[1]
        self.misses += 1
        return None

    def keep(self, dossier_id: int, state: str, workflow: BpmnWorkflow) -> None:
        """Remember `workflow` as saved in `state`, once the transaction that saved it committed."""
        with self._lock:
            self._entries.pop(dossier_id, None)
            self._entries[dossier_id] = (state, workflow)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
