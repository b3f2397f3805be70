"""PAdES signing with a unit's certificate given either way the settings allow (PKCS#12, or a key
and certificate pair with a chain), a wrong password refused clearly, and the verdicts a citizen
reads: valid and by whom, changed after signing, untrusted signer, no signature."""

from __future__ import annotations

import io
import json
from datetime import UTC
from datetime import datetime

import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader

from engine import pdf
from engine import pki
from engine import signing

NOW = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
PAGE = "<html><body><h1>Giấy xác nhận tình trạng hôn nhân</h1><p>Mã hồ sơ 01.00070-261203-0001</p></body></html>"


@pytest.fixture(scope="module")
def document() -> bytes:
    return pdf.html_to_pdf(PAGE)


@pytest.fixture
def key_and_certificate(tmp_path, monkeypatch):
    """Settings naming an encrypted PEM key, its certificate and the CA chain, password from the environment."""
    ca = pki.make_authority("CA thử nghiệm", NOW)
    holder = pki.issue_signing_certificate(ca, "UBND Phường Cửa Nam", "UBND Phường Cửa Nam", NOW)
    (tmp_path / "ca.pem").write_bytes(ca.pem())
    (tmp_path / "unit.pem").write_bytes(holder.pem())
    (tmp_path / "unit.key").write_bytes(
        holder.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"mat-khau"),
        )
    )
    (tmp_path / "signing.json").write_text(
        json.dumps(
            {
                "trust_roots": ["ca.pem"],
                "units": {
                    "00073": {
                        "key": "unit.key",
                        "cert": "unit.pem",
                        "chain": ["ca.pem"],
                        "password_env": "MOTCUA_TEST_KEY_PW",
                    }
                },
            }
        )
    )
    monkeypatch.setenv("MOTCUA_TEST_KEY_PW", "mat-khau")
    return signing.load_settings(tmp_path / "signing.json")


def test_a_key_and_certificate_pair_signs_and_the_copy_verifies(document, key_and_certificate):
    signed = signing.sign_pdf(document, key_and_certificate.for_unit(["00073", "01"]), reason="Ký duyệt", at=NOW)
    verdict = signing.verify_pdf(signed, key_and_certificate.trust_roots, NOW)
    assert verdict.valid and verdict.signer == "UBND Phường Cửa Nam" and verdict.problem is None


def test_a_changed_byte_or_an_appended_revision_is_not_valid(document, key_and_certificate):
    signed = signing.sign_pdf(document, key_and_certificate.for_unit(["00073"]), reason="Ký duyệt", at=NOW)
    changed = bytearray(signed)
    changed[len(signed) // 4] ^= 0x20
    verdict = signing.verify_pdf(bytes(changed), key_and_certificate.trust_roots, NOW)
    assert not verdict.valid
    assert not signing.verify_pdf(signed + b"1 0 obj\n<<>>\nendobj\n", key_and_certificate.trust_roots, NOW).valid


def test_an_unsigned_pdf_and_a_wrong_password_are_told_apart(document, key_and_certificate, monkeypatch):
    unsigned = signing.verify_pdf(document, key_and_certificate.trust_roots, NOW)
    assert not unsigned.signed and unsigned.problem == "the PDF carries no signature"
    monkeypatch.setenv("MOTCUA_TEST_KEY_PW", "sai")
    with pytest.raises(signing.SigningUnavailable, match="cannot be loaded"):
        signing.sign_pdf(document, key_and_certificate.for_unit(["00073"]), reason="Ký duyệt", at=NOW)
    with pytest.raises(signing.SigningUnavailable, match="no signing certificate"):
        signing.sign_pdf(document, key_and_certificate.for_unit(["00070", "01"]), reason="Ký duyệt", at=NOW)


def test_a_settings_file_without_a_key_names_the_unit(tmp_path):
    (tmp_path / "signing.json").write_text(json.dumps({"units": {"00070": {"cert": "x.pem"}}}))
    with pytest.raises(signing.SigningUnavailable, match="unit 00070 needs"):
        signing.load_settings(tmp_path / "signing.json")


def test_the_signature_is_dated_by_the_injected_clock_and_checked_at_the_injected_moment(document, key_and_certificate):
    """Signed at a moment far from the machine's time: the PDF says that moment; checked while the
    certificate was valid it is valid, checked after the certificate expired it is not."""
    signed_at = datetime(2027, 4, 2, 8, 30, tzinfo=UTC)  # months away from the wall clock
    signed = signing.sign_pdf(document, key_and_certificate.for_unit(["00073"]), reason="Ký duyệt", at=signed_at)
    verdict = signing.verify_pdf(signed, key_and_certificate.trust_roots, signed_at)
    assert verdict.valid and verdict.signed_at == signed_at
    [embedded] = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    assert str(embedded.sig_object["/M"]).startswith("D:20270402083000")  # the signature dictionary's own date
    after_expiry = signing.verify_pdf(signed, key_and_certificate.trust_roots, datetime(2030, 1, 1, tzinfo=UTC))
    assert after_expiry.signed and not after_expiry.valid
