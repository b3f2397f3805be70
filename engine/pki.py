"""A small certificate authority of our own, for the demo and the tests: a root, and one signing
certificate per unit in a PKCS#12 file, with the signing settings file that names them
(engine.signing). A province uses the certificates its CA (for Vietnam, a licensed public digital
signature provider) issued instead; nothing here is needed in production."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_authority(name: str, now: datetime, years: int = 10) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(name, name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(key, cert)


def issue_signing_certificate(
    ca: Authority, common_name: str, organisation: str, now: datetime, years: int = 3
) -> Authority:
    """A document-signing certificate (digital signature and non-repudiation) issued by `ca`."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organisation))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return Authority(key, cert)


def write_pkcs12(path: Path, holder: Authority, ca: Authority, password: bytes) -> None:
    data = pkcs12.serialize_key_and_certificates(
        holder.cert.subject.rfc4514_string().encode(),
        holder.key,
        holder.cert,
        [ca.cert],
        serialization.BestAvailableEncryption(password),
    )
    path.write_bytes(data)


def write_demo_settings(
    folder: Path,
    units: dict[str, str],
    now: datetime,
    *,
    password_env: str | None,
    password: bytes,
    ca_name: str = "motcua demo CA",
) -> Path:
    """A CA, one PKCS#12 per unit ({code: name}) and signing.json naming them; returns its path.
    Without `password_env` the password is written into the file (the demo: never in production)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = make_authority(ca_name, now)
    (folder / "ca.pem").write_bytes(ca.pem())
    entries = {}
    for code, name in units.items():
        holder = issue_signing_certificate(ca, name, name, now)
        write_pkcs12(folder / f"{code}.p12", holder, ca, password)
        entries[code] = {
            "pkcs12": f"{code}.p12",
            "chain": ["ca.pem"],
            **({"password_env": password_env} if password_env else {"password": password.decode()}),
        }
    path = folder / "signing.json"
    path.write_text(
        json.dumps({"trust_roots": ["ca.pem"], "units": entries}, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return path
