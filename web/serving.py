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
"""

from __future__ import annotations

import select

from gunicorn.workers.gthread import ThreadWorker

#: The gunicorn options `motcua serve` runs with (its tests serve with the same): this worker,
#: keep-alive, and gunicorn's Python request parser named, not left to "auto". "auto" takes its C
#: parser (`gunicorn_h1c`) whenever that is installed, but gunicorn's `fast` extra asks for
#: gunicorn_h1c >= 0.6.14 and the package index has 0.6.10; for 21 µs a request (measured,
#: docs/performance.md), the parser in front of the API stays the one gunicorn's release is tested with.
GUNICORN_OPTIONS = ["-k", "web.serving.LingeringThreadWorker", "--keep-alive", "5", "--http-parser", "python"]

#: How long a thread waits for the next request on the connection it has just answered. Short:
#: a thread waiting is a thread that another connection's request may wait for.
LINGER_MS = 2


class LingeringThreadWorker(ThreadWorker):
    def init_process(self):
        # Read once per worker: gunicorn looks a setting up by name on every use, and a reload of
        # the configuration (HUP) starts new workers.
        self.serves_tls = self.cfg.is_ssl
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
        if conn.is_http2 or self.serves_tls:
            return False
        if conn.parser.unreader.buf.getvalue():  # already read ahead with the last body
            return True
        if not self.tpool._work_queue.empty():  # noqa: SLF001  (concurrent.futures' queue)
            return False
        return bool(_poller_of(conn).poll(LINGER_MS))


def _poller_of(conn) -> select.poll:
    """The connection's own poller, made once for its life (one per request before)."""
    poller = getattr(conn, "motcua_poller", None)
    if poller is None:
        poller = conn.motcua_poller = select.poll()
        poller.register(conn.sock, select.POLLIN)
    return poller
