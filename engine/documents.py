"""Where a dossier's files live: one small interface (put, get, delete by an opaque key) with a
local folder as the embedded default and an S3-compatible object store for several machines.

The database keeps what a file is (engine.store.attachment_records); this module keeps only its
bytes. Keys are random tokens made by the caller, never a path a client chose.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

from engine.domain.errors import NotFound

#: Keys are URL-safe tokens (secrets.token_urlsafe): nothing that could climb out of a folder.
KEY = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


class DocumentStore(Protocol):
    """Bytes by opaque key. put overwrites nothing (keys are fresh); delete of a missing key is a no-op."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


def _checked(key: str) -> str:
    if not KEY.match(key or ""):
        raise ValueError(f"not a document key: {key!r}")
    return key


class FolderStore:
    """Files under one folder (the default: instance/documents), two-level fan-out by key prefix so
    that no folder grows to millions of entries."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        key = _checked(key)
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        os.replace(partial, path)  # readers never see half a file

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFound("document %(key)s is missing from the store", key=key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Store:
    """An S3-compatible bucket (AWS, MinIO, Ceph, ...) through boto3."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "",
    ):
        import boto3  # only deployments that store in S3 need it loaded

        self.bucket, self.prefix = bucket, prefix
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region or "us-east-1",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
        )

    def _name(self, key: str) -> str:
        return f"{self.prefix}{_checked(key)}"

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise NotFound("document %(key)s is missing from the store", key=key) from None

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))


def store_from_environment(default_folder: str | os.PathLike) -> DocumentStore:
    """MOTCUA_S3_BUCKET (with MOTCUA_S3_ENDPOINT, MOTCUA_S3_REGION, MOTCUA_S3_PREFIX and the usual
    AWS credentials) selects an object store; otherwise MOTCUA_DOCUMENTS_DIR or the default folder."""
    bucket = os.environ.get("MOTCUA_S3_BUCKET")
    if bucket:
        return S3Store(
            bucket,
            endpoint_url=os.environ.get("MOTCUA_S3_ENDPOINT") or None,
            region=os.environ.get("MOTCUA_S3_REGION") or None,
            prefix=os.environ.get("MOTCUA_S3_PREFIX", ""),
        )
    return FolderStore(os.environ.get("MOTCUA_DOCUMENTS_DIR") or default_folder)
