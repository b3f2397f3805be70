"""Input the whole application refuses before any view sees it: request bodies beyond
MAX_CONTENT_LENGTH, JSON nested deeper than a few levels, NUL bytes and overlong values in any
text (form, JSON, query string, path), and ids beyond the database's integer range.

Each refusal names the field (its form name, query parameter or JSON path) and writes nothing:
PostgreSQL refuses NUL in text and integers beyond 2^31-1 with errors that used to become 500s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from flask import Config
from flask import Flask
from flask import Request
from flask import abort
from flask import current_app
from flask import request
from flask_babel import gettext
from werkzeug.exceptions import UnprocessableEntity
from werkzeug.routing import IntegerConverter
from werkzeug.wsgi import get_content_length

#: PostgreSQL's `integer` (and every id column of ours): a larger id can name no row.
DB_INT_MAX = 2**31 - 1
_STRING_LITERAL = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
#: The WSGI environment's key for a JSON body parsed here as webargs parses one (UTF-8 text), for
#: the API's parser (web.api.base.GuardedJsonParser) to take instead of parsing it again.
PARSED_JSON = "motcua.parsed_json"
#: The content type every API client sends with a JSON body, as the WSGI server passes it.
JSON_CONTENT_TYPE = "application/json"


def db_int(text: str) -> int:
    """`type=db_int` for request.args/form.get: a number the id columns can hold, else ValueError
    (which werkzeug turns into the default, as for any value that is not a number)."""
    value = int(text)
    if not 0 <= value <= DB_INT_MAX:
        raise ValueError(f"{text} is outside the database's integers")
    return value


class InputRefused(UnprocessableEntity):
    """A value no view may receive; `field` names where it was."""

    def __init__(self, message: str, field: str | None):
        super().__init__(description=message)
        self.field = field
        self.data = {"messages": {field or "": [message]}}


class DatabaseIntConverter(IntegerConverter):
    """`<int:...>` in every route: a number beyond the id columns' range matches no route (404)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002  (werkzeug's parameter name)
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Before any blueprint registers a route, so that every `<int:...>` uses the bounded converter.
    The limits are settings (web.config): MAX_CONTENT_LENGTH, MAX_BODY_LENGTH, MAX_FIELD_LENGTH,
    MAX_JSON_DEPTH."""
    app.url_map.converters["int"] = DatabaseIntConverter
    app.before_request(refuse_hostile_input)


def refuse_hostile_input() -> None:
    # The request and the settings behind Flask's proxies, looked up once (each use of a proxy
    # is three Python calls, and this runs before every request).
    req, config = request._get_current_object(), current_app._get_current_object().config  # type: ignore[attr-defined]
    # The body's length from the headers once (werkzeug's reading of it: Content-Length, none
    # when chunked), for both checks: `req.content_length` reads the same through Headers.
    length = get_content_length(req.environ)
    _refuse_large_body_without_files(req, config, length)
    limit = int(config["MAX_FIELD_LENGTH"])
    for field, text in _texts(req, config, length):
        if "\x00" in text:
            shown = _shown(field)
            raise InputRefused(
                gettext("Trường %(field)s chứa ký tự NUL (\\0), không được chấp nhận.", field=shown), shown
            )
        if len(text) > limit:
            shown = _shown(field)
            raise InputRefused(gettext("Trường %(field)s dài quá %(limit)s ký tự.", field=shown, limit=limit), shown)


def _shown(field: str) -> str:
    """A field's name as a refusal names it: never echoed raw or whole (made only for a refusal)."""
    return field.replace("\x00", "\\0")[:80]


def _refuse_large_body_without_files(req: Request, config: Config, length: int | None) -> None:
    """Files may make a request large (MAX_CONTENT_LENGTH); any other body stays small."""
    if (length or 0) > int(config["MAX_BODY_LENGTH"]) and req.mimetype != "multipart/form-data":
        abort(413)


def _texts(req: Request, config: Config, length: int | None) -> Iterator[tuple[str, str]]:
    """Every text the request carries, with the name a user would know it by."""
    for name, value in (req.view_args or {}).items():
        if isinstance(value, str):
            yield name, value
    if req.query_string:  # most API calls have none: no need to build the empty MultiDict
        for name, value in req.args.items(multi=True):
            yield name, name
            yield name, value
    if names_json(req):
        yield from _json_texts(_json_body(req, config, length), "")
    elif req.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in req.form.items(multi=True):
            yield name, name
            yield name, value


def names_json(req: Request) -> bool:
    """Whether the request says its body is JSON, as werkzeug's `is_json` (and webargs') answers.
    The plain `application/json` every API client sends is compared as the server passed it:
    werkzeug parses the header into a mimetype and its options first, 12 Python calls on every
    write (and webargs asked again for the same answer)."""
    return req.environ.get("CONTENT_TYPE") == JSON_CONTENT_TYPE or req.is_json


def _json_body(req: Request, config: Config, length: int | None):
    # A POST with no body (a claim) whose client names JSON all the same: nothing in it. Known
    # from the headers (werkzeug's reading of them: a Content-Length of 0 and no chunks, or no
    # length on a server that does not end the input itself, which werkzeug then reads as empty)
    # without werkzeug's reading of the stream: 20 Python calls.
    if length == 0 or (length is None and "wsgi.input_terminated" not in req.environ):
        return None
    raw = req.get_data(cache=True)
    if not raw:
        return None
    depth_limit = int(config["MAX_JSON_DEPTH"])
    if json_depth(raw) > depth_limit:
        raise InputRefused(gettext("Dữ liệu JSON lồng nhau quá %(limit)s cấp.", limit=depth_limit), None)
    return _parsed_json(req, raw)


def _parsed_json(req: Request, raw: bytes):
    """The body as webargs parses one (UTF-8 text), left in the environment for it; else as Flask
    reads it (UTF-16 and UTF-32 too, which webargs refuses with its own error, so the values are
    checked here all the same); None for a body that is not JSON: the schema's to name."""
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except ValueError:  # not UTF-8 (UnicodeDecodeError is one), or no JSON in it
        return req.get_json(silent=True)
    req.environ[PARSED_JSON] = parsed
    return parsed


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text, without parsing it (the parser itself
    recurses and gives up around 1,000 levels); brackets inside strings do not count."""
    brackets = _STRING_LITERAL.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _json_texts(value, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path or "json", value
    elif isinstance(value, dict):
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else str(key)
            yield child_path, str(key)
            yield from _json_texts(child, child_path)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _json_texts(child, f"{path}.{index}" if path else str(index))
