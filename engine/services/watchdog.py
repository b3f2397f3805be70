"""Bounds on one worker pass: a deadline for the pass (checked between items, so a pass over a
huge backlog hands the rest to the next pass instead of starving the heartbeat and the outbox),
a limit on one item (a step whose expression or calendar arithmetic never finishes is interrupted
and becomes an incident), and the stop request of SIGTERM/SIGINT (checked between items: the item
in hand finishes or is abandoned with its transaction, the rest of the batch is released).

Wall-clock time on purpose: these bound the CPU the worker spends, not the domain's (injected) time.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager


class ItemTimedOut(Exception):
    """One item ran longer than the watchdog allows."""


class StopRequested(Exception):
    """The worker is stopping and the item in hand did not finish within the grace period: its
    transaction is rolled back and its lease released (it is not the item's fault: no incident)."""


class Watchdog:
    def __init__(
        self,
        *,
        pass_seconds: float | None = 60.0,
        item_seconds: float | None = 30.0,
        stop: threading.Event | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.pass_seconds = pass_seconds
        self.item_seconds = item_seconds
        self.stop = stop or threading.Event()
        self.monotonic = monotonic
        self.started = monotonic()
        self.cut_short = False
        self._in_item = False

    @classmethod
    def unbounded(cls) -> Watchdog:
        return cls(pass_seconds=None, item_seconds=None)

    def restart(self) -> Watchdog:
        """The same bounds for a new pass."""
        self.started, self.cut_short = self.monotonic(), False
        return self

    def should_stop(self) -> bool:
        """True when the pass must end now: a stop was asked for or the pass deadline passed."""
        over_time = self.pass_seconds is not None and self.monotonic() - self.started > self.pass_seconds
        if self.stop.is_set() or over_time:
            self.cut_short = True
        return self.cut_short

    def hurry(self, grace_seconds: float = 5.0) -> None:
        """Ask the pass to stop (from a signal handler): between items it stops at once; an item
        in hand gets `grace_seconds` to finish, then is interrupted with StopRequested."""
        self.stop.set()
        if self._in_item:
            remaining = signal.getitimer(signal.ITIMER_REAL)[0]
            signal.setitimer(signal.ITIMER_REAL, min(remaining, grace_seconds) if remaining else grace_seconds)

    @contextmanager
    def item(self) -> Iterator[None]:
        """Interrupt the block with ItemTimedOut after item_seconds. Only the main thread can
        receive the alarm signal; elsewhere (a worker thread beside a web server) the pass
        deadline alone bounds the work."""
        if not self.item_seconds or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGALRM, self._interrupt)
        signal.setitimer(signal.ITIMER_REAL, self.item_seconds)
        self._in_item = True
        try:
            yield
        finally:
            self._in_item = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def _interrupt(self, _signum, _frame) -> None:
        if self.stop.is_set():
            raise StopRequested("the worker is stopping")
        raise ItemTimedOut(f"the watchdog stopped an item that ran longer than {self.item_seconds} s")
