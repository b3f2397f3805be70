"""PAdES signatures on result PDFs: each unit signs with its own certificate (PKCS#12, or a key and
certificate pair, with the password from the environment), and anyone may check a signed copy
against the province's configured trust roots. pyHanko does the PDF and CMS work.

The settings are one JSON file named by MOTCUA_SIGNING_CONFIG (docs/signing.md):

    {"trust_roots": ["ca.pem"],
     "units": {"00070": {"pkcs12": "00070.p12", "password_env": "MOTCUA_SIGN_00070"},
               "01": {"key": "ha-noi.key", "cert": "ha-noi.pem", "chain": ["ca.pem"]}}}

A unit without an entry of its own signs with its province's (its parent unit's); relative paths
are read beside the JSON file. The password comes from the variable `password_env` names, or (the
demo's self-made certificates only) from `password` in the file.

Without MOTCUA_SIGNING_CONFIG, a SQLite database's folder may hold signing/signing.json (the demo's,
written by `motcua seed`); with neither, results are not signed and approvals owe none.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from pathlib import Path

from engine.domain.errors import InvalidAction

CONFIG_VARIABLE = "MOTCUA_SIGNING_CONFIG"


class SigningUnavailable(InvalidAction):
    """The unit has no usable certificate: not configured, unreadable, or a wrong password."""


@dataclass(frozen=True)
class UnitCertificate:
    """Where one unit's signing key lives; the password is read from the environment when signing."""

    pkcs12: Path | None = None
    key: Path | None = None
    cert: Path | None = None
    chain: tuple[Path, ...] = ()
    password_env: str | None = None
    password_text: str | None = None  # the demo's settings only

    def password(self) -> bytes | None:
        value = os.environ.get(self.password_env) if self.password_env else self.password_text
        return value.encode() if value else None


@dataclass(frozen=True)
class SigningSettings:
    units: dict[str, UnitCertificate] = field(default_factory=dict)
    trust_roots: tuple[Path, ...] = ()

    def for_unit(self, chain: Iterable[str]) -> UnitCertificate | None:
        """The certificate of the first unit of `chain` (the unit, then its province) that has one."""
        return next((self.units[code] for code in chain if code in self.units), None)


def settings_from_environment(database_url: str | None = None) -> SigningSettings:
    """The settings MOTCUA_SIGNING_CONFIG names, else the demo's beside a SQLite database, else none."""
    path = settings_path(database_url)
    return load_settings(path) if path else SigningSettings()


def settings_path(database_url: str | None = None) -> Path | None:
    named = os.environ.get(CONFIG_VARIABLE)
    if named:
        return Path(named)
    demo = demo_folder(database_url) / "signing.json" if database_url else None
    return demo if demo is not None and demo.is_file() else None


def demo_folder(database_url: str) -> Path:
    """Where `motcua seed` puts the demo's CA: beside a SQLite file, else instance/signing."""
    prefix = "sqlite:///"
    if database_url.startswith(prefix) and ":memory:" not in database_url:
        return Path(database_url[len(prefix) :]).parent / "signing"
    return Path("instance") / "signing"


def load_settings(path: Path) -> SigningSettings:
    """The settings file; an unreadable or malformed one is refused naming the file and the entry."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SigningUnavailable(
            "signing settings %(path)s cannot be read: %(error)s", path=str(path), error=str(exc)
        ) from None
    base = path.parent

    def at(name: str | None) -> Path | None:
        return (base / name) if name else None

    units = {}
    for code, entry in (raw.get("units") or {}).items():
        if not isinstance(entry, dict) or not (entry.get("pkcs12") or (entry.get("key") and entry.get("cert"))):
            raise SigningUnavailable(
                "signing settings %(path)s: unit %(unit)s needs 'pkcs12' or 'key' and 'cert'", path=str(path), unit=code
            )
        units[str(code)] = UnitCertificate(
            pkcs12=at(entry.get("pkcs12")),
            key=at(entry.get("key")),
            cert=at(entry.get("cert")),
            chain=tuple(at(c) for c in entry.get("chain") or ()),
            password_env=entry.get("password_env"),
            password_text=entry.get("password"),
        )
    return SigningSettings(units, tuple(at(r) for r in raw.get("trust_roots") or ()))


def _signer(cert: UnitCertificate):
    from pyhanko.sign import signers

    try:
        if cert.pkcs12 is not None:
            signer = signers.SimpleSigner.load_pkcs12(
                str(cert.pkcs12), ca_chain_files=[str(c) for c in cert.chain], passphrase=cert.password()
            )
        else:
            signer = signers.SimpleSigner.load(
                str(cert.key),
                str(cert.cert),
                ca_chain_files=[str(c) for c in cert.chain],
                key_passphrase=cert.password(),
            )
    except (OSError, ValueError) as exc:
        raise SigningUnavailable("the unit's certificate cannot be loaded: %(error)s", error=str(exc)) from None
    if signer is None:  # pyHanko logs and returns None on a wrong password or a broken file
        raise SigningUnavailable("the unit's certificate cannot be loaded (wrong password or damaged file)")
    return signer


def sign_pdf(
    pdf: bytes, cert: UnitCertificate | None, *, reason: str, at: datetime, location: str | None = None
) -> bytes:
    """The PDF with one PAdES baseline signature by the unit's certificate over all of it, dated `at`
    (the product's clock: the signature dictionary's /M and the CMS signing-time attribute)."""
    if cert is None:
        raise SigningUnavailable(
            "the unit has no signing certificate configured (%(variable)s)", variable=CONFIG_VARIABLE
        )
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields
    from pyhanko.sign import signers

    meta = signers.PdfSignatureMetadata(
        field_name="ChuKySo", reason=reason, location=location, subfilter=fields.SigSeedSubFilter.PADES
    )
    pdf_signer = _clocked_pdf_signer(signers.PdfSigner)(meta, signer=_signer(cert), signing_time=at)
    return pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf))).getvalue()


def _clocked_pdf_signer(base):
    """pyHanko's PdfSigner dated by the given time instead of the machine's: pyHanko (0.38) reads
    datetime.now() into the signing session and offers no parameter for it, so the session's
    `system_time` (what both dates are written from) is set as soon as the session exists."""

    class ClockedPdfSigner(base):
        def __init__(self, *args, signing_time: datetime, **kwargs):
            super().__init__(*args, **kwargs)
            self.signing_time = signing_time

        def init_signing_session(self, pdf_out, existing_fields_only=False):
            session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
            session.system_time = self.signing_time
            return session

    return ClockedPdfSigner


@dataclass(frozen=True)
class Verdict:
    """What a signed copy says about itself, for the citizen: whether it is intact (not one byte
    changed since signing), trusted (the signer chains to a configured root) and by whom."""

    signed: bool
    intact: bool = False
    trusted: bool = False
    signer: str | None = None
    signed_at: datetime | None = None
    problem: str | None = None

    @property
    def valid(self) -> bool:
        return self.signed and self.intact and self.trusted


def _roots(paths: Iterable[Path]):
    from pyhanko.keys import load_cert_from_pemder

    return [load_cert_from_pemder(str(p)) for p in paths]


def verify_pdf(pdf: bytes, trust_roots: Iterable[Path], moment: datetime) -> Verdict:
    """Check the PDF's last signature: the bytes it covers, the whole file covered (nothing added
    after), and the signer's chain up to one of the trust roots at `moment` (the product's clock)."""
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = reader.embedded_signatures
    except (PdfReadError, ValueError, KeyError) as exc:
        return Verdict(signed=False, problem=f"not a readable PDF: {exc}")
    if not embedded:
        return Verdict(signed=False, problem="the PDF carries no signature")
    context = ValidationContext(trust_roots=_roots(trust_roots), moment=moment, allow_fetching=False)
    try:
        status = validate_pdf_signature(embedded[-1], signer_validation_context=context)
    except Exception as exc:  # noqa: BLE001 - a mangled signature dictionary is a failed check, not a crash
        return Verdict(signed=True, problem=f"the signature cannot be checked: {type(exc).__name__}: {exc}")
    whole = status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    intact = bool(status.intact and status.valid and whole)
    signer = status.signing_cert.subject.native.get("common_name") if status.signing_cert else None
    problem = (
        None
        if intact and status.trusted
        else ("the document was changed after it was signed" if not intact else "the signer is not a trusted authority")
    )
    return Verdict(
        signed=True,
        intact=intact,
        trusted=bool(status.trusted),
        signer=signer,
        signed_at=status.signer_reported_dt,
        problem=problem,
    )
