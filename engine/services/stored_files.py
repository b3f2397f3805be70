"""Files waiting for their rows: checked files put in the document store for the length of a
change, and taken out again when the change fails (so a failed change leaves no stored file);
their rows and history events, written inside that change."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from engine.domain.assignment import Actor
from engine.domain.attachments import AttachmentKind
from engine.domain.attachments import CheckedFile
from engine.domain.attachments import Upload
from engine.domain.attachments import checked
from engine.services import audit
from engine.services.runtime import Runtime
from engine.store.attachment_records import AttachmentRecord
from engine.store.database import Session
from engine.store.records import DossierRecord


@dataclass(frozen=True)
class Staged:
    """A checked file on its way into the document store under a fresh random key."""

    key: str
    file: CheckedFile
    kind: AttachmentKind
    checklist_index: int | None = None


def new_key() -> str:
    return secrets.token_urlsafe(24)


def stage(upload: Upload, kind: AttachmentKind, *, checklist_index: int | None = None, field: str = "file") -> Staged:
    """The upload checked (InvalidAction naming `field` when it is not an accepted file) and given its key."""
    return Staged(new_key(), checked(upload, field), kind, checklist_index)


@contextmanager
def staged_files(rt: Runtime, files: Iterable[Staged]) -> Iterator[list[Staged]]:
    """Put the files in the store for the block; if the block fails, take them out again."""
    files, done = list(files), []
    store = rt.document_store() if files else None
    try:
        for staged in files:
            store.put(staged.key, staged.file.data, staged.file.content_type)
            done.append(staged)
        yield done
    except BaseException:
        for staged in done:
            store.delete(staged.key)
        raise


def add_rows(
    session: Session,
    dossier: DossierRecord,
    files: Iterable[Staged],
    actor: Actor,
    now,
    work_item_id: int | None = None,
) -> list[AttachmentRecord]:
    """Describe staged files in the dossier's change and history (inside its transaction)."""
    rows = []
    for staged in files:
        row = AttachmentRecord(
            key=staged.key,
            dossier_id=dossier.id,
            work_item_id=work_item_id,
            checklist_index=staged.checklist_index,
            kind=staged.kind.value,
            name=staged.file.name,
            content_type=staged.file.content_type,
            size=staged.file.size,
            sha256=staged.file.sha256,
            storage_key=staged.key,
            uploaded_by=actor.username,
            on_behalf_of=actor.on_behalf_of,
            uploaded_at=now,
        )
        session.add(row)
        rows.append(row)
        audit.record(
            session,
            at=now,
            action="attach",
            actor=actor,
            dossier_id=dossier.id,
            work_item_id=work_item_id,
            name=staged.file.name,
            kind=staged.kind.value,
            size=staged.file.size,
            sha256=staged.file.sha256,
        )
    return rows
