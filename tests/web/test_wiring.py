"""The runtime a web process serves with: one per app, whichever of a worker's threads asks first."""

from __future__ import annotations

import threading

from web.wiring import runtime


def test_two_threads_meeting_a_new_app_share_one_runtime(app):
    """The server's threaded workers: the first requests arrive together; a second runtime doubled
    the engine's listeners (statement counts, idle pings) and built every cache twice."""
    build = app.extensions["motcua_runtime_factory"]
    building, second_asked = threading.Event(), threading.Event()
    builds = []

    def slow_build():
        builds.append(1)
        building.set()
        second_asked.wait(timeout=5)  # the other thread asks while this one is still building
        return build()

    app.extensions["motcua_runtime_factory"] = slow_build
    got = {}

    def ask(name: str) -> None:
        with app.app_context():
            got[name] = runtime()

    first = threading.Thread(target=ask, args=("first",))
    first.start()
    building.wait(timeout=5)
    second = threading.Thread(target=lambda: (second_asked.set(), ask("second")))
    second.start()
    first.join()
    second.join()
    assert builds == [1] and got["first"] is got["second"]
