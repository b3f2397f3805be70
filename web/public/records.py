"""What the lookup page (and the public API) tells a citizen who proved they hold a dossier's code
and second factor, beyond its status: whether each result file carries a valid digital signature
and whose (pyHanko's validation against the configured trust roots, at the product's clock), and
every reuse of their documents from the data store (who, when, for which dossier)."""

from __future__ import annotations

from dataclasses import dataclass

from engine import signing
from engine.domain.errors import EngineError
from engine.services import attachments
from engine.services import citizen_copies
from engine.services import citizen_store
from engine.store.attachment_records import AttachmentRecord
from web.wiring import runtime


@dataclass(frozen=True)
class ResultCheck:
    file: AttachmentRecord
    verdict: signing.Verdict


def result_checks(dossier_id: int) -> list[ResultCheck]:
    """Each result file of the dossier with what its signature says (a scan without one says so)."""
    rt = runtime()
    try:
        roots = signing.settings_from_environment(rt.db.url).trust_roots
    except EngineError:
        roots = ()
    found = []
    for row in citizen_copies.copies_results(rt, dossier_id):
        try:
            data = attachments.content(rt, row)
        except EngineError as error:
            found.append(ResultCheck(row, signing.Verdict(signed=False, problem=error.message)))
            continue
        verdict = (
            signing.verify_pdf(data, roots, rt.clock.now())
            if row.content_type == "application/pdf"
            else signing.Verdict(signed=False, problem="not a PDF")
        )
        found.append(ResultCheck(row, verdict))
    return found


def reuses(dossier_id: int) -> list[citizen_store.ReuseLine]:
    return citizen_store.reuses_of_applicant(runtime(), dossier_id)
