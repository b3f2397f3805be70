"""`column IN (values)` for the long lists of the reports (a province's 126 communes, its hundreds of
officers), with the values written into the statement instead of one parameter each: psycopg parses
a statement's parameters again on every run once it has more than 50 of them (its cache's limit),
about 2 ms for 378 user names; written in, they cost it nothing. SQLAlchemy writes them with the
column type's own quoting, after its statement cache."""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlalchemy.sql import ColumnElement


def among(column, values) -> ColumnElement[bool]:
    return column.in_(bindparam(None, sorted(values), expanding=True, literal_execute=True))
