"""What a dossier's file may be: the kinds of attachment (a reception checklist item's scan, a
processing record, the result), the accepted formats checked by declared type AND by the file's
own first bytes, the size limit, and the name kept as the citizen or clerk gave it."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from enum import Enum

from engine.domain.errors import InvalidAction


class AttachmentKind(str, Enum):
    RECEPTION = "reception"  # a scan of a checklist item received with the dossier
    PROCESSING = "processing"  # appraisal records, minutes, verification letters
    RESULT = "result"  # the signed decision, the certificate


#: Content type -> the first bytes every such file starts with.
MAGIC = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
#: Browsers and scanners also send these names for the same formats.
ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf": "application/pdf"}
MAX_BYTES = 10 * 1024 * 1024
MAX_NAME = 200


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: its name, the type the sender declared, its bytes."""

    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content_type: str
    data: bytes
    size: int
    sha256: str


def sniffed_type(data: bytes) -> str | None:
    """The accepted format the bytes are, whatever they were called."""
    return next((kind for kind, starts in MAGIC.items() if data.startswith(starts)), None)


def kept_name(name: str) -> str:
    """The file's own name without any folder part or control characters, NFC (as Vietnamese
    names are typed), at most MAX_NAME characters with the extension kept."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if len(base) > MAX_NAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: MAX_NAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else base[:MAX_NAME]
    return base


def checked(upload: Upload, field: str = "file") -> CheckedFile:
    """The upload when it is a non-empty PDF, PNG or JPEG within the size limit, whose declared type
    matches its bytes; InvalidAction naming `field` otherwise."""
    name = kept_name(upload.name)
    if not name:
        raise InvalidAction("the file has no name", field=field)
    if not upload.data:
        raise InvalidAction("file '%(name)s' is empty", field=field, name=name)
    if len(upload.data) > MAX_BYTES:
        raise InvalidAction(
            "file '%(name)s' is %(size)s bytes; at most %(limit)s are accepted",
            field=field,
            name=name,
            size=len(upload.data),
            limit=MAX_BYTES,
        )
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    declared = ALIASES.get(declared, declared)
    if declared not in MAGIC:
        raise InvalidAction(
            "file '%(name)s' is of type '%(type)s'; only PDF, PNG and JPEG are accepted",
            field=field,
            name=name,
            type=declared or "?",
        )
    actual = sniffed_type(upload.data)
    if actual != declared:
        raise InvalidAction(
            "file '%(name)s' says it is '%(type)s' but its content is not", field=field, name=name, type=declared
        )
    return CheckedFile(
        name=name,
        content_type=declared,
        data=upload.data,
        size=len(upload.data),
        sha256=hashlib.sha256(upload.data).hexdigest(),
    )


def kind_of(text: str | None, field: str = "kind") -> AttachmentKind:
    try:
        return AttachmentKind(text)
    except ValueError:
        raise InvalidAction(
            "unknown attachment kind '%(kind)s' (reception, processing or result)", field=field, kind=text or ""
        ) from None
