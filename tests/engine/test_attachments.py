"""A dossier's files: checked by type and first bytes, stored in a folder or an S3-compatible
bucket (moto's server on loopback), described by a row and a history event, served back only
while their SHA-256 holds, exported with the dossier's data as one archive; a refused or failed
upload leaves neither a row nor a stored file."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.documents import FolderStore
from engine.documents import S3Store
from engine.domain.attachments import AttachmentKind
from engine.domain.attachments import Upload
from engine.domain.attachments import kept_name
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.domain.errors import PermissionDenied
from engine.services import attachments
from engine.services import dossiers
from engine.store.attachment_records import AttachmentRecord
from engine.store.records import AuditEventRecord
from tests.factories import OTHER_COMMUNE
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture
from web.demo_files import tiny_pdf
from web.demo_files import tiny_png

PDF = tiny_pdf("Giay chung sinh - mau thu")
PNG = tiny_png()


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 server on 127.0.0.1 at a free port, for the module's tests."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_store(s3_server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store = S3Store("motcua-docs", endpoint_url=s3_server, prefix="hoso/")
    store.client.create_bucket(Bucket="motcua-docs")
    return store


@pytest.fixture
def dossier(runtime, tmp_path):
    runtime.documents = FolderStore(tmp_path / "documents")
    add_units(runtime)
    definition = deploy_fixture(runtime, "five_steps")
    return dossiers.start_dossier(
        runtime, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    )


def stored_files(runtime) -> list:
    return sorted(p.name for p in runtime.documents.root.rglob("*") if p.is_file())


def rows(runtime) -> int:
    with runtime.db.read_session() as s:
        return s.scalar(select(func.count()).select_from(AttachmentRecord))


@pytest.mark.parametrize("make_store", ["folder", "s3"])
def test_a_store_keeps_bytes_by_key_and_forgets_them_on_delete(make_store, request, tmp_path):
    store = FolderStore(tmp_path / "d") if make_store == "folder" else request.getfixturevalue("s3_store")
    store.put("k" * 32, PDF, "application/pdf")
    assert store.get("k" * 32) == PDF
    store.delete("k" * 32)
    with pytest.raises(NotFound):
        store.get("k" * 32)
    with pytest.raises(ValueError):
        store.put("../../etc/passwd", b"x", "text/plain")


def test_an_attached_file_comes_back_as_it_was_with_its_hash_and_a_history_event(runtime, dossier):
    row = attachments.attach(
        runtime,
        dossier.id,
        RECEPTION,
        Upload("giay_chung_sinh.pdf", "application/pdf", PDF),
        AttachmentKind.RECEPTION,
        checklist_index=1,
    )
    assert (row.name, row.size, row.sha256) == ("giay_chung_sinh.pdf", len(PDF), hashlib.sha256(PDF).hexdigest())
    assert len(row.key) >= 32 and not row.key.isdigit()
    found = attachments.find(runtime, row.key)
    assert attachments.content(runtime, found) == PDF
    assert [f.name for f in attachments.files_of(runtime, dossier.id)] == ["giay_chung_sinh.pdf"]
    with runtime.db.read_session() as s:
        event = s.scalar(select(AuditEventRecord).where(AuditEventRecord.action == "attach"))
    assert event.actor == RECEPTION.username and event.detail["name"] == "giay_chung_sinh.pdf"


def test_files_in_an_s3_bucket_work_like_files_in_a_folder(runtime, dossier, s3_store):
    runtime.documents = s3_store
    row = attachments.attach(
        runtime, dossier.id, RECEPTION, Upload("anh.png", "image/png", PNG), AttachmentKind.PROCESSING
    )
    assert s3_store.client.head_object(Bucket="motcua-docs", Key=f"hoso/{row.storage_key}")["ContentLength"] == len(PNG)
    assert attachments.content(runtime, attachments.find(runtime, row.key)) == PNG


@pytest.mark.parametrize(
    "upload, says",
    [
        (Upload("to_khai.pdf", "application/pdf", PNG), "its content is not"),
        (Upload("anh.png", "image/png", b"%PDF-1.4 not an image"), "its content is not"),
        (Upload("ghi_chu.txt", "text/plain", b"hello"), "only PDF, PNG and JPEG"),
        (Upload("rong.pdf", "application/pdf", b""), "is empty"),
        (Upload("lon.pdf", "application/pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024)), "at most"),
    ],
)
def test_a_file_that_is_not_what_it_says_or_too_big_is_refused_and_nothing_is_kept(runtime, dossier, upload, says):
    with pytest.raises(InvalidAction) as refused:
        attachments.attach(runtime, dossier.id, RECEPTION, upload, AttachmentKind.RECEPTION)
    assert refused.value.field == "file" and says in str(refused.value)
    assert rows(runtime) == 0 and stored_files(runtime) == []


def test_a_failed_transaction_takes_its_stored_file_out_again(runtime, dossier):
    with pytest.raises(PermissionDenied):
        attachments.attach(
            runtime, dossier.id, OTHER_COMMUNE, Upload("a.pdf", "application/pdf", PDF), AttachmentKind.PROCESSING
        )
    with pytest.raises(NotFound):
        attachments.attach(
            runtime, 999_999, RECEPTION, Upload("a.pdf", "application/pdf", PDF), AttachmentKind.PROCESSING
        )
    assert rows(runtime) == 0 and stored_files(runtime) == []


def test_a_file_altered_in_the_store_is_refused_not_served(runtime, dossier):
    row = attachments.attach(
        runtime, dossier.id, RECEPTION, Upload("a.pdf", "application/pdf", PDF), AttachmentKind.RESULT
    )
    runtime.documents.put(row.storage_key, PDF.replace(b"mau thu", b"MAU SUA"), "application/pdf")
    with pytest.raises(InvalidAction, match="no longer matches"):
        attachments.content(runtime, attachments.find(runtime, row.key))


def test_names_are_kept_without_folders_or_control_characters():
    assert kept_name("C:\\scan\\Giấy khai sinh.pdf") == "Giấy khai sinh.pdf"
    assert kept_name("../../x\x00y.png") == "xy.png"
    assert kept_name("a" * 300 + ".pdf").endswith(".pdf") and len(kept_name("a" * 300 + ".pdf")) == 200


def test_the_archive_holds_every_file_and_a_manifest_with_hashes_and_the_dossier(runtime, dossier):
    attachments.attach(
        runtime,
        dossier.id,
        RECEPTION,
        Upload("to khai.pdf", "application/pdf", PDF),
        AttachmentKind.RECEPTION,
        checklist_index=0,
    )
    attachments.attach(runtime, dossier.id, RECEPTION, Upload("anh.png", "image/png", PNG), AttachmentKind.RESULT)
    name, data = attachments.archive(runtime, dossier.id)
    assert name == f"{dossier.code}.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["dossier"]["code"] == dossier.code
        assert manifest["dossier"]["applicant_name"] == "Nguyễn Văn A"
        for entry in manifest["files"]:
            assert hashlib.sha256(zf.read(entry["path"])).hexdigest() == entry["sha256"]
            assert entry["uploaded_by"] == RECEPTION.username
        assert [f["kind"] for f in manifest["files"]] == ["reception", "result"]


def test_the_environment_chooses_an_s3_bucket_or_a_folder(monkeypatch, tmp_path):
    from engine.documents import store_from_environment

    monkeypatch.delenv("MOTCUA_S3_BUCKET", raising=False)
    monkeypatch.setenv("MOTCUA_DOCUMENTS_DIR", str(tmp_path / "docs"))
    folder = store_from_environment(tmp_path / "default")
    assert isinstance(folder, FolderStore) and folder.root == tmp_path / "docs"
    monkeypatch.setenv("MOTCUA_S3_BUCKET", "hoso")
    monkeypatch.setenv("MOTCUA_S3_ENDPOINT", "http://127.0.0.1:9")
    bucket = store_from_environment(tmp_path / "default")
    assert isinstance(bucket, S3Store) and bucket.bucket == "hoso"
