"""The demo's citizen side: some applicants accept SMS and Zalo (no provider is configured in the
demo, so their dossiers show they were not told), certification dossiers carry their fee (half
paid at the counter, half waiting at status 6) and about half the finished dossiers are rated."""

from __future__ import annotations

import random

from engine.domain.assignment import Actor
from engine.services import fees
from engine.services import satisfaction
from engine.services.payments import Payment
from engine.services.runtime import Runtime
from engine.store import queries

#: The library procedure paid before it is processed (its catalogue says so) and its fee.
FEE_FIRST = "chung_thuc_hop_dong_giao_dich"
FEE_LINES = [{"name": "Phí chứng thực hợp đồng, giao dịch", "amount_vnd": 50000}]


def applicant_extras(definition_key: str, index: int) -> dict:
    """What a demo applicant adds at reception: the channels they accept, the fee cases."""
    extras = {"notify": ["sms", "zalo"]} if index % 3 == 0 else {}
    if definition_key == FEE_FIRST:
        extras["fees"] = FEE_LINES
    return extras


def settle_fees(sim: Runtime, dossier, reception: Actor, index: int) -> bool:
    """Half the dossiers with fees pay at once (cash or a bank reference); the rest keep waiting at
    status 6 (True: the demo leaves them there)."""
    if not dossier.applicant.get("fees"):
        return False
    if index % 2:
        return True
    payment = Payment(50000, "cash") if index % 4 == 0 else Payment(50000, "bank", f"FT26{index:08d}")
    fees.record_payment(sim, dossier.id, reception, payment)
    return False


def seed_ratings(rt: Runtime, seed: int = 766) -> int:
    """Rate about half the dossiers that have their result, mostly satisfied."""
    rng = random.Random(seed)
    rated = 0
    with rt.db.read_session() as s:
        codes = queries.codes_with_status(s, satisfaction.RATEABLE)
    for code in codes:
        if rng.random() < 0.5:
            continue
        scores = {criterion: rng.choices((2, 1, 0), weights=(6, 3, 1))[0] for criterion in satisfaction.CRITERIA}
        satisfaction.rate(
            rt, code, scores, rng.choice((None, None, "Cán bộ hướng dẫn tận tình.", "Thời gian chờ hơi lâu."))
        )
        rated += 1
    return rated
