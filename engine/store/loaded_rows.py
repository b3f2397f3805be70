"""Mapped objects built from a row read on the driver's cursor (engine.store.driver_reads), for the
one read every step's change makes: the step, its dossier, the dossier's unit and its province's
portal settings. The ORM's own read of the same row (its query compile cache, result metadata and
row loading for four entities) cost about twice what the statement itself cost on SQLite.

Each object is put in the session as the ORM's read would leave it: persistent, its columns loaded
and unmodified, in the identity map (a later `session.get` finds it without a query); a column
the statement leaves out (a deferred one) loads when first used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Mapper
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.orm.instrumentation import manager_of_class

_MANAGERS: dict[type, Any] = {}


@dataclass(frozen=True)
class LoadedShape:
    """A mapped class's columns as a statement reads them: the attribute keys, in the order of the
    columns `columns()` gives, and the position of its primary key among them."""

    record: type
    keys: tuple[str, ...]
    pk_at: int

    @classmethod
    def of(cls, record: type) -> LoadedShape:
        mapper: Mapper[Any] = inspect(record)
        attributes = [a for a in mapper.column_attrs if not a.deferred and len(a.columns) == 1]
        keys = tuple(a.key for a in attributes)
        (pk,) = mapper.primary_key
        pk_at = next(n for n, a in enumerate(attributes) if a.columns[0] is pk)
        _MANAGERS[record] = mapper.class_manager
        return cls(record, keys, pk_at)

    def columns(self, labelled: str) -> list:
        """The columns to select, labelled `<labelled><n>` (apart from every other shape's)."""
        mapper: Mapper[Any] = inspect(self.record)
        return [mapper.attrs[key].columns[0].label(f"{labelled}{n}") for n, key in enumerate(self.keys)]

    def loaded(self, session: Session, values: Sequence[Any]):
        """The object of these column values, persistent in `session`; None when its primary key
        is NULL (an outer join that found nothing)."""
        if values[self.pk_at] is None:
            return None
        key = (self.record, (values[self.pk_at],), None)  # the mapper's identity key
        found = session.identity_map.get(key)
        if found is not None:  # already in the session: the ORM's read would not overwrite it either
            return found
        obj: Any = _MANAGERS[self.record].new_instance()
        state = instance_state(obj)
        obj.__dict__.update(zip(self.keys, values, strict=True))  # the state's dict (a property's call less)
        # Attached as the ORM's loader attaches what it reads (sqlalchemy.orm.loading, SQLAlchemy
        # being pinned): loaded and unmodified, with its identity; the columns left out unloaded.
        state.key, state.identity_token = key, None
        state.session_id = session.hash_key
        session.identity_map._add_unpresent(state, key)  # the loader's own step
        return obj


def built(record: type, values: dict[str, Any]):
    """A new (transient) object of `record` holding `values`, as its constructor would build it
    but without an attribute event per column (its constructor's sets were 76 Python calls of a
    completion's new step): its INSERT writes what its dict holds either way. `values` must name
    columns only (the constructor's check of each name is not made here)."""
    obj: Any = manager_of_class(record).new_instance()
    obj.__dict__.update(values)  # the state's dict, as in `loaded`
    return obj


def add_built(session: Session, obj) -> None:
    """`session.add(obj)` for an object `built` here: pending in the session, numbered in the order
    it was added, its session's attach events heard. A record whose relationships cascade nothing
    (a step's) skips the cascade's walk, which visits every one of the mapper's thirty-odd
    properties to find none (about forty calls a new step); any other, or a session inside a flush
    event (whose warning `add` gives), goes through `add`. SQLAlchemy is pinned;
    tests/engine/test_orm_shortcuts.py checks the session against `add`'s."""
    if session._warn_on_events or _cascades(type(obj)):
        session.add(obj)
        return
    state = instance_state(obj)
    state._orphaned_outside_of_session = False  # add's own first step, then its save of a new object
    session._save_impl(state)


def _cascades(record: type) -> bool:
    cascades = _CASCADES.get(record)
    if cascades is None:
        mapper: Mapper[Any] = inspect(record)
        cascades = _CASCADES[record] = any(relationship.cascade.save_update for relationship in mapper.relationships)
    return cascades


#: Whether a mapped class has a relationship that `Session.add` cascades to.
_CASCADES: dict[type, bool] = {}


def read_columns(obj, keys: Sequence[str]) -> dict[str, Any]:
    """These columns of a mapped object, as its attributes read them: a loaded one from the
    state's dict (its attribute read is a Python call each, about thirty a completion's reply),
    any other through its attribute, which loads it (an expired or deferred column, one a new
    row left to its default)."""
    loaded = obj.__dict__  # the state's dict, as in `loaded`
    return {key: loaded[key] if key in loaded else getattr(obj, key) for key in keys}


def set_columns(obj, values: dict[str, Any]) -> None:
    """Set these columns of a mapped object as attribute sets would leave it: each column's value
    before its first set kept as its history (what a flush or `change_rows.write` compares), the
    object marked modified in its session. One Python call for them all, where each attribute set
    is four (the instrumented attribute, its implementation, its listeners' check and the state's
    modified event): a completion sets about fifteen. A column with set listeners or active
    history (no record has one) is set as an attribute. SQLAlchemy is pinned; tests/engine/
    test_orm_shortcuts.py checks the state against attribute sets."""
    state = instance_state(obj)
    loaded, committed = obj.__dict__, state.committed_state  # the state's dict
    plain = _PLAIN_COLUMNS.get(type(obj)) or _plain_columns(type(obj))
    last_known = state._last_known_values
    for key, value in values.items():
        if key not in plain:
            setattr(obj, key, value)
            continue
        if key not in committed:
            committed[key] = loaded.get(key, NO_VALUE)
        if last_known is not None and key in last_known:
            last_known[key] = NO_VALUE
        loaded[key] = value
    state._modified_event(loaded, None, NO_VALUE)  # no attribute: only the object marked modified


#: A mapped class's column keys whose attribute sets do nothing beyond `set_columns`' own steps.
_PLAIN_COLUMNS: dict[type, frozenset[str]] = {}


def _plain_columns(record: type) -> frozenset[str]:
    manager: Any = manager_of_class(record)
    mapper: Mapper[Any] = inspect(record)
    plain = frozenset(
        attribute.key
        for attribute in mapper.column_attrs
        if (impl := manager[attribute.key].impl).send_modified_events
        and not impl.dispatch._active_history
        and not impl.dispatch.set
    )
    _PLAIN_COLUMNS[record] = plain
    return plain
