"""X.509 certificates of a development PKI, in two profiles.

* ``sm2``: SM2 keys, SM3withSM2 signatures — built with asn1crypto (``cryptography`` cannot
  hold SM2 keys) and signed through :class:`~docgen.signing.sm2.SM2PrivateKey`;
  OpenSSL 3 verifies the chain with ``-vfyopt distid:1234567812345678``.
* ``ecdsa``: P-256 keys, ECDSA-SHA256 — built with ``cryptography``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from asn1crypto import x509 as a509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..gm import OID_SM3_WITH_SM2
from .sm2 import SM2PrivateKey

__all__ = ["CertRole", "Subject", "ecdsa_certificate", "sm2_certificate"]


@dataclass(frozen=True)
class Subject:
    """Who a certificate names: the organisation, its credit code, and the key's role.

    Names carry CN = organisation (cut to X.509's 64-byte bound), O = organisation,
    OU = role, organizationIdentifier = ``NTRCN-`` + 统一社会信用代码 (ETSI EN 319 412-1).
    """

    role: str
    organization: str
    credit_code: str

    @property
    def common_name(self) -> str:
        """The organisation's name, shortened to at most 64 UTF-8 bytes."""
        name = self.organization
        while len(name.encode()) > _NAME_BOUND:
            name = name[:-1]
        return name

    @property
    def organization_identifier(self) -> str:
        """The legal-person identifier of the organisation."""
        return f"NTRCN-{self.credit_code}"


_NAME_BOUND = 64


@dataclass(frozen=True)
class CertRole:
    """What a certificate may do: a CA signs certificates; a signer signs documents."""

    ca: bool
    path_length: int | None = None


def _serial(subject: Subject, not_before: datetime) -> int:
    seed = f"{subject.role}|{subject.credit_code}|{not_before.isoformat()}".encode()
    return int.from_bytes(hashlib.sha256(seed).digest()[:16], "big") >> 1


def _a509_name(subject: Subject) -> a509.Name:
    return a509.Name.build(
        {
            "country_name": "CN",
            "organization_name": subject.common_name,
            "organization_identifier": subject.organization_identifier,
            "organizational_unit_name": subject.role,
            "common_name": subject.common_name,
        },
        use_printable=False,
    )


def sm2_certificate(
    subject: Subject,
    key: SM2PrivateKey,
    issuer: Subject,
    issuer_key: SM2PrivateKey,
    role: CertRole,
    not_before: datetime,
    days: int,
) -> bytes:
    """DER of an SM3withSM2 certificate for ``key``, signed by ``issuer_key``."""
    spki = key.public_key_info()
    issuer_spki = issuer_key.public_key_info()
    ski = hashlib.sha1(bytes(spki["public_key"].native)).digest()
    aki = hashlib.sha1(bytes(issuer_spki["public_key"].native)).digest()
    usage = {"key_cert_sign", "crl_sign"} if role.ca else {"digital_signature", "non_repudiation"}
    constraints: dict[str, object] = {"ca": role.ca}
    if role.ca and role.path_length is not None:
        constraints["path_len_constraint"] = role.path_length
    tbs = a509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": _serial(subject, not_before),
            "signature": {"algorithm": OID_SM3_WITH_SM2},
            "issuer": _a509_name(issuer),
            "validity": {
                "not_before": a509.Time(name="utc_time", value=not_before),
                "not_after": a509.Time(name="utc_time", value=not_before + timedelta(days=days)),
            },
            "subject": _a509_name(subject),
            "subject_public_key_info": spki,
            "extensions": [
                {"extn_id": "basic_constraints", "critical": True, "extn_value": constraints},
                {"extn_id": "key_usage", "critical": True, "extn_value": usage},
                {"extn_id": "key_identifier", "critical": False, "extn_value": ski},
                {
                    "extn_id": "authority_key_identifier",
                    "critical": False,
                    "extn_value": {"key_identifier": aki},
                },
            ],
        }
    )
    signature = issuer_key.sign(tbs.dump())
    cert = a509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": {"algorithm": OID_SM3_WITH_SM2},
            "signature_value": signature,
        }
    )
    return bytes(cert.dump())


def _x509_name(subject: Subject) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject.common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, subject.organization_identifier),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, subject.role),
            x509.NameAttribute(NameOID.COMMON_NAME, subject.common_name),
        ]
    )


def ecdsa_certificate(
    subject: Subject,
    key: ec.EllipticCurvePrivateKey,
    issuer: Subject,
    issuer_key: ec.EllipticCurvePrivateKey,
    role: CertRole,
    not_before: datetime,
    days: int,
) -> bytes:
    """DER of an ECDSA-SHA256 certificate for ``key``, signed by ``issuer_key``."""
    usage = x509.KeyUsage(
        digital_signature=not role.ca,
        content_commitment=not role.ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=role.ca,
        crl_sign=role.ca,
        encipher_only=False,
        decipher_only=False,
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_x509_name(subject))
        .issuer_name(_x509_name(issuer))
        .public_key(key.public_key())
        .serial_number(_serial(subject, not_before))
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
        .add_extension(
            x509.BasicConstraints(ca=role.ca, path_length=role.path_length if role.ca else None),
            critical=True,
        )
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    cert = builder.sign(issuer_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.DER)
