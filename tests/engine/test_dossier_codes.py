"""Dossier codes under concurrent receptions: unique and increasing per commune and day, and a
start never waits for another start to finish (PostgreSQL takes the number in its own short
transaction; SQLite's single writer serialises starts anyway)."""

from __future__ import annotations

import threading

import pytest

from engine.bpmn import runner
from engine.services import dossiers
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture

CLIENTS = 4
STARTS_EACH = 5


def start(rt, definition, unit_code="00070"):
    return dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code=unit_code, applicant_name="Trần Thị B", actor=RECEPTION
    )


def number(code: str) -> int:
    return int(code.rsplit("-", 1)[1])


def test_concurrent_starts_in_one_commune_get_unique_increasing_numbers(runtime, clock):
    add_units(runtime)
    five = deploy_fixture(runtime, "five_steps")
    barrier = threading.Barrier(CLIENTS)
    codes: dict[int, list[str]] = {}
    failures: list[BaseException] = []

    def desk(n: int) -> None:
        barrier.wait()
        try:
            codes[n] = [start(runtime, five).code for _ in range(STARTS_EACH)]
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=desk, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    issued = [code for desk_codes in codes.values() for code in desk_codes]
    assert {code.rsplit("-", 1)[0] for code in issued} == {"01.00070-260302"}
    assert sorted(number(code) for code in issued) == list(range(1, CLIENTS * STARTS_EACH + 1))
    for desk_codes in codes.values():  # each desk's receipts are numbered in the order it received them
        assert [number(c) for c in desk_codes] == sorted(number(c) for c in desk_codes)
    clock.advance(days=1)
    assert start(runtime, five).code == "01.00070-260303-0001"


@pytest.mark.postgres
@pytest.mark.parametrize(
    "second_unit, second_code", [("00070", "01.00070-260302-0002"), ("00073", "01.00073-260302-0001")]
)
def test_a_start_does_not_wait_for_another_start_still_running(postgres_runtime, monkeypatch, second_unit, second_code):
    rt = postgres_runtime
    add_units(rt)
    five = deploy_fixture(rt, "five_steps")
    first_has_its_code, let_first_finish = threading.Event(), threading.Event()
    real_start = runner.start

    def first_start_lingers(*args, **kwargs):
        # The first start stops after taking its number, its transaction still open.
        if threading.current_thread().name == "first":
            first_has_its_code.set()
            let_first_finish.wait(30)
        return real_start(*args, **kwargs)

    monkeypatch.setattr(runner, "start", first_start_lingers)
    results: dict[str, str] = {}
    first = threading.Thread(name="first", target=lambda: results.update(first=start(rt, five).code))
    second = threading.Thread(target=lambda: results.update(second=start(rt, five, second_unit).code))
    first.start()
    try:
        assert first_has_its_code.wait(10)
        second.start()
        second.join(timeout=10)
        finished_while_first_ran = not second.is_alive()
    finally:
        let_first_finish.set()
        first.join()
        second.join()

    assert finished_while_first_ran
    assert results == {"first": "01.00070-260302-0001", "second": second_code}
