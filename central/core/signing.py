"""The centre's document-signing identity and PAdES signatures (pyHanko).

At set-up (``ensure_signing_identity``, called when central starts) a private key and a
self-signed certificate are made once into ``<data dir>/signing/`` (key mode 0600, never in
git). Every signed PDF (actas, reports, resolutions, letters) carries a PAdES baseline
signature made with it; ``validate`` checks one with pyHanko's validator, trusting only that
certificate."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

with warnings.catch_warnings():  # pyHanko imports the deprecated DSA type at import time
    warnings.simplefilter("ignore")
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

KEY_FILE = "signing-key.pem"
CERT_FILE = "signing-cert.pem"
CERT_YEARS = 10
SIGNATURE_BYTES = 8192  # an ECDSA CMS signature with its certificate is ~1.5 KB


@dataclass(frozen=True)
class SigningIdentity:
    key_path: Path
    cert_path: Path
    chain_path: Path | None = None  # the issuer's certificate, for a professional's identity


def ensure_signing_identity(
    directory: Path, *, common_name: str, organization: str
) -> SigningIdentity:
    """The key and certificate under ``directory``, made on first call (idempotent; a second
    process racing the first keeps the first one's files)."""
    directory.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
    if not key_path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
            cert_path.unlink(missing_ok=True)
    if not cert_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "PE"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization[:64]),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
            ]
        )
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())  # type: ignore[union-attr]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365 * CERT_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())  # type: ignore[arg-type]
        )
        tmp = cert_path.with_suffix(".tmp")
        tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        os.replace(tmp, cert_path)
    return SigningIdentity(key_path, cert_path)


def ensure_professional_identity(
    centre: SigningIdentity, directory: Path, *, user_id: str, common_name: str, organization: str
) -> SigningIdentity:
    """A professional's own key and certificate (issued by the centre's certificate), made on
    first use under ``directory/<user_id>/``: a report is signed with the identity of the
    professional who wrote it, and validates against the centre's certificate."""
    folder = directory / user_id
    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / KEY_FILE, folder / CERT_FILE
    if not key_path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
            cert_path.unlink(missing_ok=True)
    if not cert_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        issuer_cert = x509.load_pem_x509_certificate(centre.cert_path.read_bytes())
        issuer_key = serialization.load_pem_private_key(centre.key_path.read_bytes(), password=None)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "PE"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization[:64]),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
            ]
        )
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_cert.subject)
            .public_key(key.public_key())  # type: ignore[union-attr]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365 * 3))
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
            .sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]
        )
        tmp = cert_path.with_suffix(".tmp")
        tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        os.replace(tmp, cert_path)
    return SigningIdentity(key_path, cert_path, centre.cert_path)


@lru_cache(maxsize=64)
def _signer(
    key_path: str, cert_path: str, _mtime: float, chain_path: str | None = None
) -> signers.SimpleSigner:
    signer = signers.SimpleSigner.load(
        key_path, cert_path, ca_chain_files=(chain_path,) if chain_path else None
    )
    if signer is None:
        raise RuntimeError("the signing key could not be loaded")
    return signer


def sign_pdf(
    pdf: bytes,
    identity: SigningIdentity,
    *,
    reason: str,
    location: str,
    field_name: str = "FirmaCentro",
) -> bytes:
    """``pdf`` with a PAdES (ETSI.CAdES.detached) signature of the identity (the centre's by
    default; a professional's from ``ensure_professional_identity``)."""
    signer = _signer(
        str(identity.key_path),
        str(identity.cert_path),
        identity.cert_path.stat().st_mtime,
        str(identity.chain_path) if identity.chain_path else None,
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    # a fixed reservation skips pyHanko's dry-run signature (used to size the placeholder)
    out = signers.sign_pdf(writer, meta, signer=signer, bytes_reserved=SIGNATURE_BYTES)
    return out.getvalue()


@dataclass(frozen=True)
class SignatureCheck:
    intact: bool  # the signed bytes were not changed
    valid: bool  # the cryptographic signature is correct
    trusted: bool  # made with the centre's certificate
    signer: str
    covers_whole_document: bool


def validate(pdf: bytes, identity: SigningIdentity) -> SignatureCheck:
    """Check the first signature, trusting the centre's certificate (``identity``'s issuer
    when it is a professional's identity)."""
    root = load_cert_from_pemder(str(identity.chain_path or identity.cert_path))
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    reader = PdfFileReader(BytesIO(pdf))
    if not reader.embedded_signatures:
        return SignatureCheck(False, False, False, "", False)
    embedded = reader.embedded_signatures[0]
    status = validate_pdf_signature(embedded, context)
    coverage = getattr(status, "coverage", None)
    return SignatureCheck(
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        signer=status.signing_cert.subject.human_friendly,
        covers_whole_document=coverage is not None and coverage.name == "ENTIRE_FILE",
    )
