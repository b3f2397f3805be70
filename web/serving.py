"""gunicorn's threaded worker, keeping a kept-alive connection on its thread for a moment.

gunicorn's gthread worker hands every kept-alive connection back to its main thread after each
answer: the thread pool's future, a byte through a pipe, the main thread's poller, and on the
next request the way back (poller, thread pool, a thread woken). An API client that calls again
straight away (an integration working through its queue, nginx's pooled upstream connections)
paid all of that on every request. Here the thread that answered waits a moment for the next
request on the same connection and serves it itself; only when none comes in time (or other
connections are waiting for a thread) does the connection go back to the poller as before.
A served /healthz costs a quarter less CPU and answers sooner; on requests that work, the CPU
saved is below what benchmarks/http.py resolves (README, issue 14, branch http10).

Each worker also reads its settings through a snapshot (SettledConfig): gunicorn looks every
setting up by name on every use (`Config.__getattr__`, then the Setting's `get`), a few dozen times
per request while it parses the request and writes the answer.
"""

from __future__ import annotations

import select

from gunicorn.workers.gthread import ThreadWorker

#: How long a thread waits for the next request on the connection it has just answered. Short:
#: a thread waiting is a thread that another connection's request may wait for.
LINGER_MS = 2


class SettledConfig:
    """A worker's view of gunicorn's Config: each setting's value read once, then kept.

    A worker's settings never change while it runs (a reload starts new workers with the
    arbiter's new Config), so the value a setting had the first time is its value for good.
    Its methods (`forwarded_allow_networks()`, which keeps its own cache) go to it."""

    #: Properties of the Config computed from settings alone (asked on every request).
    DERIVED = frozenset({"is_ssl"})

    def __init__(self, config) -> None:
        self.__dict__["_config"] = config

    def __getattr__(self, name: str):
        config = self.__dict__["_config"]
        value = getattr(config, name)
        if name in config.settings or name in self.DERIVED:
            self.__dict__[name] = value  # found in the instance from then on: no __getattr__
        return value

    def __setattr__(self, name: str, value) -> None:
        setattr(self.__dict__["_config"], name, value)
        self.__dict__.pop(name, None)

    def set(self, name: str, value) -> None:
        self.__dict__["_config"].set(name, value)
        self.__dict__.pop(name, None)


class LingeringThreadWorker(ThreadWorker):
    def init_process(self):
        # In the worker's own process, after the fork: the arbiter keeps its Config as it is.
        self.cfg = SettledConfig(self.cfg)
        super().init_process()

    def handle(self, conn):
        keep_alive = super().handle(conn)
        while keep_alive is True and self.alive and self._next_request_came(conn):
            keep_alive = super().handle(conn)
        return keep_alive

    def _next_request_came(self, conn) -> bool:
        """Whether the connection's next request is there (or comes within LINGER_MS), while no
        other connection waits for a thread. HTTP/2 and TLS connections go back to the poller as
        gunicorn sends them (TLS may hold a request already read from the socket)."""
        if conn.is_http2 or self.cfg.is_ssl:
            return False
        if conn.parser.unreader.buf.getvalue():  # already read ahead with the last body
            return True
        if not self.tpool._work_queue.empty():  # noqa: SLF001  (concurrent.futures' queue)
            return False
        poller = select.poll()
        poller.register(conn.sock, select.POLLIN)
        return bool(poller.poll(LINGER_MS))
