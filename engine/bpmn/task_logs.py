"""SpiffWorkflow's task log extras, built only when a record that carries them can be written.

On every state change `Task._set_state` hands `logger.info` the task's `collect_log_extras()`
(the workflow's and the task spec's names, the state's name, the parent: about ten calls), and
the logging module drops them unread while `spiff.task` is above INFO, as every motcua process
runs it (engine.logs.set_spiff_level). Within the engine's operations on a workflow
(`quiet_task_logs`), while no logger that carries task extras is enabled, a task's extras are a
plain dict of what the caller passed; otherwise, and outside the operations, the library's own.
tests/engine/test_task_logs.py fails if the library stops using the method for its log records
only, or if the records written at INFO lose their extras.
"""

from __future__ import annotations

import logging
import threading

from SpiffWorkflow.task import Task

_LIBRARY_EXTRAS = Task.collect_log_extras
#: `dict(extras)` or `{}`: a C call, where the library's method costs about ten.
_NO_EXTRAS: staticmethod = staticmethod(dict)
#: The loggers SpiffWorkflow writes a task's extras to: state changes, transforms and operators
#: ('spiff.task'), data objects ('spiff.data').
_CARRIERS = (logging.getLogger("spiff.task"), logging.getLogger("spiff.data"))

_lock = threading.Lock()
_operations = 0


def extras_written() -> bool:
    return any(logger.isEnabledFor(logging.INFO) for logger in _CARRIERS)


class quiet_task_logs:
    """Within this block (and while any other thread is within one) tasks build no log extras
    that no record would carry; the library's method is back once the last block ends."""

    __slots__ = ()

    def __enter__(self) -> None:
        global _operations
        with _lock:
            if _operations == 0 and not extras_written():
                Task.collect_log_extras = _NO_EXTRAS
            _operations += 1

    def __exit__(self, *exc) -> None:
        global _operations
        with _lock:
            _operations -= 1
            if _operations == 0:
                Task.collect_log_extras = _LIBRARY_EXTRAS
