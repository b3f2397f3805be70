"""The JSON columns PostgreSQL sends (a step's outcome, a dossier's applicant, an event's detail),
parsed by the standard library's decoder in one call.

psycopg parses a json column with `json.loads` of the bytes it received, which first guesses their
encoding and then goes through `JSONDecoder.decode` and `raw_decode`: about a dozen Python and C
calls a value, where `raw_decode` of the decoded text is one (a step's read parses two). psycopg
takes the parse function per connection (`set_json_loads`, its public API); the values are the
ones `json.loads` gives (tests/engine/test_json_columns.py).
"""

from __future__ import annotations

import json
from typing import Any

from psycopg.types.json import set_json_loads

#: The decoder `json.loads` uses when given no options (its scanner keeps nothing between calls).
_DECODER = json.JSONDecoder()


def parse_on(driver_connection: Any) -> None:
    """Parse the json columns of `driver_connection` (psycopg's) with `json_of`."""
    set_json_loads(json_of, driver_connection)


def json_of(data: str | bytes) -> Any:
    """`json.loads(data)` for the UTF-8 text PostgreSQL sends (its json type keeps the text as it
    was written, blanks included: text that is not one value from its first character on is
    left to `json.loads`, which skips the blanks or names the error)."""
    # psycopg gives bytes, decoded as json.loads decodes UTF-8 bytes.
    text = data.decode("utf-8", "surrogatepass") if isinstance(data, bytes) else data
    try:
        value, end = _DECODER.raw_decode(text)
    except json.JSONDecodeError:
        return json.loads(text)
    if end != len(text):
        return json.loads(text)
    return value
