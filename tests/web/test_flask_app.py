"""The Flask app's own machinery (web.app.MotcuaFlask)."""

from __future__ import annotations

import pytest


def test_each_function_is_called_as_flask_would_call_it(app):
    """A plain function is called as it is, every time; a coroutine function still goes through
    Flask's own conversion (refused here: the `async` extra is not installed), even when asked
    again, so that remembering the answer never turns one kind into the other."""

    def plain():
        return "plain"

    async def coroutine():
        return "coroutine"

    assert app.ensure_sync(plain) is plain
    assert app.ensure_sync(plain) is plain
    for _ in range(2):
        with pytest.raises(RuntimeError, match="async"):
            app.ensure_sync(coroutine)


def test_hooks_added_after_the_first_request_still_run(client, app):
    client.get("/healthz")
    seen = []
    app.after_request_funcs.setdefault(None, []).append(lambda response: seen.append(response.status_code) or response)

    client.get("/healthz")

    assert seen == [200]
