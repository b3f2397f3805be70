"""The Flask app's own machinery (web.app.MotcuaFlask)."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from decimal import Decimal

import pytest
from flask import jsonify
from flask import request
from flask.json.provider import DefaultJSONProvider
from werkzeug.wrappers import Response


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


def _handed_over(response, environ) -> list[tuple[str, str]]:
    return response.get_wsgi_headers(environ).to_wsgi_list()


def _werkzeugs(response, environ) -> list[tuple[str, str]]:
    return Response.get_wsgi_headers(response, environ).to_wsgi_list()


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (200, {}, "an answer"),
        (201, {"Location": "/api/v1/dossiers/7"}, '{"id":7}'),
        (201, {"Location": "/hồ-sơ/7"}, '{"id":7}'),  # an IRI: werkzeug quotes it
        (200, {"Content-Location": "/tài-liệu/1"}, "a document"),
        (204, {}, ""),
        (304, {"ETag": '"v1"', "Content-Type": "text/plain"}, ""),
        (302, {"Location": "/login"}, "Redirecting"),
        (422, {"WWW-Authenticate": 'Bearer realm="motcua"'}, '{"error":"x"}'),
    ],
)
def test_the_headers_handed_to_the_server_are_werkzeugs(app, status, headers, body):
    """Every answer reaches the server with the headers werkzeug would have handed over: the same
    names, values and order, a body's length included, whether or not they were copied first."""
    with app.test_request_context("/", method="POST"):
        environ = request.environ
        response = app.response_class(body, status=status, headers=headers)
        assert _handed_over(response, environ) == _werkzeugs(response, environ)


def test_a_streamed_answer_gets_no_length_and_a_buffered_one_without_it_gets_one(app):
    with app.test_request_context("/"):
        environ = request.environ
        streamed = app.response_class(iter([b"a", b"b"]), mimetype="text/plain")
        assert _handed_over(streamed, environ) == _werkzeugs(streamed, environ)
        assert "Content-Length" not in dict(_handed_over(streamed, environ))
        buffered = app.response_class(b"abc", mimetype="text/plain")
        del buffered.headers["Content-Length"]
        assert dict(_handed_over(buffered, environ))["Content-Length"] == "3"
        assert _handed_over(buffered, environ) == _werkzeugs(buffered, environ)


JSON_BODY = {
    "zeta": [1, 2.5, None, True],
    "ảnh": "Người nộp",
    "at": datetime(2026, 12, 5, 7, 30, tzinfo=UTC),
    "day": date(2026, 12, 5),
    "amount": Decimal("12.50"),
    "nested": {"b": 1, "a": {"y": "x", "c": "</script>"}},
}


def test_json_answers_are_written_as_flask_writes_them(app):
    """The same bytes as Flask's own JSON provider: sorted keys, ASCII escapes, compact, a final
    newline, its dates and decimals; indented in debug mode; again after a setting changes."""
    flasks = DefaultJSONProvider(app)
    with app.test_request_context("/"):
        for body in (JSON_BODY, [JSON_BODY, 3], "text", None):
            assert jsonify(body).get_data() == flasks.response(body).get_data()
        assert jsonify(a=1, b="c").get_data() == flasks.response(a=1, b="c").get_data()
        assert jsonify(JSON_BODY).mimetype == "application/json"
        app.json.sort_keys = False
        flasks.sort_keys = False
        try:
            assert jsonify(JSON_BODY).get_data() == flasks.response(JSON_BODY).get_data()
        finally:
            app.json.sort_keys = True
        app.debug = True
        try:
            assert jsonify(JSON_BODY).get_data() == DefaultJSONProvider(app).response(JSON_BODY).get_data()
            assert b'\n  "amount"' in jsonify(JSON_BODY).get_data()
        finally:
            app.debug = False
