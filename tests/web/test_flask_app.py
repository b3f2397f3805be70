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


def _sent(response_class, body, status, headers, method="GET"):
    """What a WSGI server is handed for this answer: status, headers in order, body bytes."""
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder("/ho-so/HS-1", method=method, base_url="http://motcua.local/app").get_environ()
    response = response_class(body, status=status, headers=headers)
    app_iter, status_line, header_list = response.get_wsgi_response(environ)
    return status_line, header_list, b"".join(app_iter)


@pytest.mark.parametrize(
    ("body", "status", "headers", "method"),
    [
        ('{"id": 1}\n', 200, {"Content-Type": "application/json", "X-Request-ID": "a" * 32, "Vary": "Cookie"}, "POST"),
        ('{"code": "HS-1"}\n', 201, {"Location": "/api/v1/dossiers/HS-1?x=ở đây"}, "POST"),
        ("", 302, {"Location": "../dang-nhap"}, "GET"),
        ("x", 200, {"Content-Location": "/tệp/1"}, "GET"),
        ("", 204, {"Content-Length": "0"}, "DELETE"),
        ("cached", 304, {"Content-Type": "text/plain", "ETag": '"e1"', "Content-Length": "6"}, "GET"),
        ("a body", 200, {"Content-Type": "text/plain"}, "HEAD"),
        ([b"listed ", b"bytes"], 200, {"Content-Type": "text/plain"}, "GET"),
        (None, 200, {"Content-Type": "text/plain"}, "GET"),  # streamed: no length to give
    ],
)
def test_an_answer_reaches_the_server_as_werkzeug_would_hand_it(body, status, headers, method):
    """The app's responses skip werkzeug's copy of their headers only when its fixes (a location
    made a URL, a length added, dropped or kept) would change nothing: for every kind of answer
    the server gets the same status, the same headers in the same order and the same bytes."""
    from flask import Response

    from web.app import ServedResponse

    def body_of_its_own():
        return (part for part in (b"streamed ", b"bytes")) if body is None else body

    assert _sent(ServedResponse, body_of_its_own(), status, headers, method) == _sent(
        Response, body_of_its_own(), status, headers, method
    )


def test_a_json_answer_is_sent_with_its_own_headers_and_a_redirect_through_werkzeugs_fixes(app):
    """The saving is real (no copy for a JSON answer) and bounded (a Location still gets one)."""
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder("/").get_environ()
    with app.test_request_context():
        from flask import jsonify
        from flask import redirect

        answer = jsonify({"id": 1})
        moved = redirect("/dang-nhap")
    assert answer.get_wsgi_headers(environ) is answer.headers
    assert moved.get_wsgi_headers(environ) is not moved.headers


def _binding(app, bind, path, **environ_options):
    """An adapter's every setting and what it matches for `path` (the rule and values, or the
    refusal with its redirect), bound by `bind` as a request to the app would be."""
    from werkzeug.exceptions import HTTPException
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path, **environ_options).get_environ()
    request = app.request_class(environ)
    try:
        adapter = bind(app, request)
    except Exception as refused:  # noqa: BLE001 - a host not trusted is refused the same way by both
        return type(refused).__name__
    settings = {name: getattr(adapter, name) for name in ("server_name", "script_name", "subdomain")}
    settings |= {name: getattr(adapter, name) for name in ("url_scheme", "default_method", "websocket")}
    settings |= {"path_info": "/" + adapter.path_info.lstrip("/"), "query_args": adapter.query_args or None}
    try:
        rule, values = adapter.match(return_rule=True)
        matched = (rule.rule, values)
    except HTTPException as refused:
        matched = (type(refused).__name__, getattr(refused, "new_url", None))
    return settings, matched, request.host


@pytest.mark.parametrize(
    ("path", "options"),
    [
        ("/api/v1/work-items/17/claim", {"method": "POST"}),
        ("/api/v1/work-items/2147483648/claim", {"method": "POST"}),  # beyond the ids: no route
        ("/api/v1/dossiers", {"method": "PUT"}),  # not allowed
        ("/api/v1/dossiers?page=2&q=hồ sơ", {}),
        ("/api/v1/dossiers/HS-Đ1", {"base_url": "http://MotCua.Local:8080/"}),
        ("//api//v1//dossiers", {}),  # slashes merged by a redirect
        ("/quan-tri", {}),  # a trailing slash added by a redirect
        ("/api/v1/dossiers", {"base_url": "http://motcua.local/tinh"}),  # mounted below a root
        ("/api/v1/dossiers", {"base_url": "https://motcua.local/"}),
        ("/api/v1/dossiers", {"headers": {"Connection": "Upgrade", "Upgrade": "websocket"}}),
    ],
)
def test_a_request_is_routed_as_flasks_own_binding_routes_it(app, path, options):
    """Binding from what the Request has read gives the adapter Flask's `bind_to_environ` gives:
    the same settings, match, refusal and redirect, the same host checked."""
    from flask import Flask

    assert _binding(app, type(app).create_url_adapter, path, **options) == _binding(
        app, Flask.create_url_adapter, path, **options
    )


def test_hosts_are_checked_and_an_app_matching_hosts_is_bound_by_flask(app):
    app.config["TRUSTED_HOSTS"] = ["motcua.local"]
    from flask import Flask

    for host in ("http://motcua.local/", "http://ke-gian.example/"):
        ours = _binding(app, type(app).create_url_adapter, "/api/v1/dossiers", base_url=host)
        assert ours == _binding(app, Flask.create_url_adapter, "/api/v1/dossiers", base_url=host)
    assert ours == "SecurityError"
    app.config["TRUSTED_HOSTS"] = None
    app.config["SERVER_NAME"] = "motcua.local"
    assert _binding(app, type(app).create_url_adapter, "/healthz", base_url="http://khac.example/") == _binding(
        app, Flask.create_url_adapter, "/healthz", base_url="http://khac.example/"
    )
