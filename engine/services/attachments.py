"""A dossier's files: attaching them (checked, stored, described by a row, recorded in the
history, all or nothing), reading them back (their SHA-256 checked), and the dossier's archive
(a ZIP of its files with a manifest of who attached what when, and the dossier's data).

Bytes go to the document store before the row is written; when the row's transaction fails the
stored bytes are deleted again (engine.services.stored_files), so a failed upload leaves neither a
row nor a file.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from engine.domain.assignment import Actor
from engine.domain.attachments import AttachmentKind
from engine.domain.attachments import Upload
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.domain.errors import PermissionDenied
from engine.services import dossier_record
from engine.services.runtime import Runtime
from engine.services.stored_files import add_rows
from engine.services.stored_files import stage
from engine.services.stored_files import staged_files
from engine.services.unit_of_work import transaction
from engine.store import attachment_records
from engine.store import dossier_queries
from engine.store.attachment_records import AttachmentRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord


def may_attach(actor: Actor, dossier: DossierRecord) -> bool:
    """Officers of the dossier's unit, and of the unit that received it for another commune."""
    return actor.may_see_dossier(dossier.unit_code, dossier.received_unit)


def attach(
    rt: Runtime,
    dossier_id: int,
    actor: Actor,
    upload: Upload,
    kind: AttachmentKind,
    *,
    work_item_id: int | None = None,
    checklist_index: int | None = None,
) -> AttachmentRecord:
    """Attach one file to a dossier (optionally to one of its steps or checklist items)."""
    with staged_files(rt, [stage(upload, kind, checklist_index=checklist_index)]) as staged:
        with transaction(rt) as s:
            dossier = s.get(DossierRecord, dossier_id)
            if dossier is None:
                raise NotFound("unknown dossier %(id)s", id=dossier_id)
            if not may_attach(actor, dossier):
                raise PermissionDenied(
                    "only officers of unit %(unit)s may add files to dossier %(code)s",
                    unit=dossier.unit_code,
                    code=dossier.code,
                )
            if work_item_id is not None:
                item = s.get(WorkItemRecord, work_item_id)
                if item is None or item.dossier_id != dossier.id:
                    raise InvalidAction(
                        "step %(id)s is not a step of dossier %(code)s",
                        field="work_item_id",
                        id=work_item_id,
                        code=dossier.code,
                    )
            (row,) = add_rows(s, dossier, staged, actor, rt.clock.now(), work_item_id)
            s.flush()
            return row


def files_of(rt: Runtime, dossier_id: int) -> list[AttachmentRecord]:
    with rt.db.read_session() as s:
        return attachment_records.of_dossier(s, dossier_id)


def find(rt: Runtime, key: str) -> AttachmentRecord:
    """The file's row by its random key; NotFound when there is none."""
    with rt.db.read_session() as s:
        row = attachment_records.by_key(s, key or "")
    if row is None:
        raise NotFound("no such file")
    return row


def content(rt: Runtime, row: AttachmentRecord) -> bytes:
    """The file's bytes, refused when they no longer match the SHA-256 recorded at upload."""
    data = rt.document_store().get(row.storage_key)
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise InvalidAction("file '%(name)s' in the store no longer matches its SHA-256; it was altered", name=row.name)
    return data


# -- the archive ---------------------------------------------------------------------------------


def archive(rt: Runtime, dossier_id: int) -> tuple[str, bytes]:
    """(file name, ZIP): every file of the dossier under files/, and manifest.json describing the
    dossier, its data by step and each file (name, kind, size, SHA-256, who and when)."""
    with rt.db.read_session() as s:
        view = dossier_queries.dossier_view(s, dossier_id)
        if view is None:
            raise NotFound("unknown dossier %(id)s", id=dossier_id)
        rows = attachment_records.of_dossier(s, dossier_id)
        steps = {w.id: w.element_id for w in dossier_queries.dossier_steps(s, dossier_id)}
    data = dossier_record.data_of(rt, dossier_id, view.definition.id)
    buffer, listed = io.BytesIO(), []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for number, row in enumerate(rows, start=1):
            path = f"files/{number:03d}-{row.name}"
            zf.writestr(path, content(rt, row))
            listed.append(
                {
                    "path": path,
                    "name": row.name,
                    "kind": row.kind,
                    "content_type": row.content_type,
                    "size": row.size,
                    "sha256": row.sha256,
                    "step": steps.get(row.work_item_id),
                    "checklist_index": row.checklist_index,
                    "uploaded_by": row.uploaded_by,
                    "on_behalf_of": row.on_behalf_of,
                    "uploaded_at": row.uploaded_at.isoformat(),
                }
            )
        zf.writestr(
            "manifest.json",
            json.dumps(_manifest(view, data.as_dict(), listed, rt), ensure_ascii=False, indent=2, default=str),
        )
    return f"{view.dossier.code}.zip", buffer.getvalue()


def _manifest(view, data: list[dict], files: list[dict], rt: Runtime) -> dict:
    d = view.dossier
    return {
        "format": "motcua-dossier-archive/1",
        "exported_at": rt.clock.now().isoformat(),
        "dossier": {
            "code": d.code,
            "procedure": view.definition.name,
            "procedure_code": d.procedure_code,
            "template": f"{view.definition.key} v{view.definition.version}",
            "unit": view.unit.name,
            "unit_code": d.unit_code,
            "applicant_name": d.applicant_name,
            "applicant": d.applicant,
            "channel": d.channel,
            "status": d.status,
            "run_state": d.run_state,
            "received_at": d.received_at.isoformat(),
            "appointment_at": d.appointment_at.isoformat() if d.appointment_at else None,
            "completed_at": d.completed_at.isoformat() if d.completed_at else None,
        },
        "data": data,
        "files": files,
    }
