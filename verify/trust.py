"""Trust lists: the only source of trust for the verifier.

A trust list (``trust.json``, written by ``docgen keys init``) names an issuing body, its
roots per profile and every signer generation (certificate, validity, QR key id). Several
lists can be loaded together. Chains are checked here: SM2 certificates with GmSSL (through
:mod:`docgen.gm`), ECDSA/RSA ones with ``cryptography``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from asn1crypto import pem
from asn1crypto import x509 as a509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

from docgen.gm import OID_SM3_WITH_SM2, sm2_public_point, sm2_verify
from docgen.ses.reader import MALFORMED_DER

__all__ = [
    "MAX_NAME_BYTES",
    "TRUST_LIST_FORMAT",
    "TrustList",
    "TrustListError",
    "TrustedSigner",
    "describe",
    "name_problem",
    "organization",
]

TRUST_LIST_FORMAT = "docgen-trust-list/1"
#: The longest certificate name (subject or issuer, DER) compared with a trusted root's:
#: names are compared after RFC 5280 normalisation, which takes seconds for a megabyte
#: (ours are 100-300 bytes; a CA's name has a handful of short attributes).
MAX_NAME_BYTES = 4096


class TrustListError(ValueError):
    """A trust list file is missing or malformed."""


@dataclass(frozen=True)
class TrustedSigner:
    """A signer certificate named in a trust list."""

    profile: str
    generation: int
    kid: bytes
    certificate: bytes
    not_before: datetime
    not_after: datetime
    issuer_name: str
    issuer_code: str


def _der(text: str) -> bytes:
    _, _, der = pem.unarmor(text.encode())
    return bytes(der)


def name_problem(cert: a509.Certificate) -> str | None:
    """Why a certificate's names are not compared with trusted ones (too long), or None."""
    for which in ("issuer", "subject"):
        size = len(cert["tbs_certificate"][which].dump())
        if size > MAX_NAME_BYTES:
            return (
                f"its {which} name is {size} bytes, longer than any CA's (at most "
                f"{MAX_NAME_BYTES}): not compared"
            )
    return None


def describe(certificate: bytes) -> str:
    """A short name for a certificate: its subject's O and OU."""
    try:
        subject = a509.Certificate.load(certificate).subject.native
    except MALFORMED_DER:
        return "unreadable certificate"
    parts = [subject.get("organization_name"), subject.get("organizational_unit_name")]
    return " / ".join(str(p) for p in parts if p) or str(subject.get("common_name", "?"))


@lru_cache(maxsize=256)
def organization(certificate: bytes) -> str | None:
    """The subject's organisation (O) of a certificate, if it has one (remembered: the same
    few signer certificates are asked about again and again)."""
    try:
        value = a509.Certificate.load(certificate).subject.native.get("organization_name")
    except MALFORMED_DER:
        return None
    return str(value) if value else None


@dataclass
class TrustList:
    """Roots and signers of one or more issuing bodies."""

    roots: dict[str, list[bytes]] = field(default_factory=dict)
    signers: list[TrustedSigner] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, paths: list[Path]) -> TrustList:
        """Merge the trust lists at ``paths``.

        Raises:
            TrustListError: a file is unreadable, not JSON, or not a trust list.
        """
        trust = cls()
        for path in paths:
            try:
                data: dict[str, Any] = json.loads(path.read_text("utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise TrustListError(f"{path}: cannot read trust list ({exc})") from exc
            if data.get("format") != TRUST_LIST_FORMAT:
                raise TrustListError(f"{path}: not a {TRUST_LIST_FORMAT} file")
            try:
                issuer = data["issuer"]
                for profile, text in data["roots"].items():
                    trust.roots.setdefault(profile, []).append(_der(text))
                for entry in data["signers"]:
                    trust.signers.append(
                        TrustedSigner(
                            profile=entry["profile"],
                            generation=int(entry["generation"]),
                            kid=bytes.fromhex(entry["kid"]),
                            certificate=_der(entry["certificate"]),
                            not_before=datetime.fromisoformat(entry["not_before"]),
                            not_after=datetime.fromisoformat(entry["not_after"]),
                            issuer_name=issuer["name"],
                            issuer_code=issuer["code"],
                        )
                    )
            except (KeyError, TypeError, ValueError) as exc:
                raise TrustListError(f"{path}: malformed trust list ({exc})") from exc
            trust.sources.append(str(path))
        return trust

    def signer_by_kid(self, kid: bytes) -> TrustedSigner | None:
        """The trusted signer with QR key id ``kid``."""
        return next((s for s in self.signers if s.kid == kid), None)

    def qr_certificates(self) -> dict[bytes, bytes]:
        """Key id → certificate of every ECDSA signer (the QR signing keys)."""
        return {s.kid: s.certificate for s in self.signers if s.profile == "ecdsa"}

    def sm2_signer_points(self) -> list[tuple[TrustedSigner, bytes]]:
        """Every trusted SM2 signer with its public point (for bare signatures)."""
        out = []
        for signer in self.signers:
            if signer.profile == "sm2":
                cert = a509.Certificate.load(signer.certificate)
                out.append((signer, sm2_public_point(cert.public_key)))
        return out

    def chain(self, certificate: bytes, at: datetime | None) -> tuple[bool, str]:
        """Whether ``certificate`` was issued by a trusted root and is valid at ``at``.

        Returns ``(trusted, reason)``.
        """
        try:
            cert = a509.Certificate.load(certificate)
            cert.native  # noqa: B018 - parse fully now, so malformed input fails here
        except MALFORMED_DER as exc:
            why = (str(exc).splitlines() or [type(exc).__name__])[0]
            return False, f"signer certificate unreadable ({why})"
        too_long = name_problem(cert)
        if too_long is not None:
            return False, f"signer certificate not trusted: {too_long}"
        is_sm2 = cert["signature_algorithm"]["algorithm"].dotted == OID_SM3_WITH_SM2
        issuer = None
        for profile, roots in self.roots.items():
            if (profile == "sm2") != is_sm2:
                continue
            for root_der in roots:
                root = a509.Certificate.load(root_der)
                if root.subject != cert.issuer:
                    continue
                if is_sm2:
                    point = sm2_public_point(root.public_key)
                    signed = sm2_verify(
                        point, cert["tbs_certificate"].dump(), cert["signature_value"].native
                    )
                else:
                    signed = _issued_by(certificate, root_der)
                if signed:
                    issuer = (profile, root_der)
                    break
            if issuer:
                break
        if issuer is None:
            return False, f"{describe(certificate)} is not issued by any root in the trust list"
        if at is not None:
            start = cert["tbs_certificate"]["validity"]["not_before"].native
            end = cert["tbs_certificate"]["validity"]["not_after"].native
            if not start <= at <= end:
                return False, f"signer certificate not valid at {at.isoformat()} ({start} – {end})"
        profile, root_der = issuer
        return True, f"chains to the trusted {profile} root of {describe(root_der)}"


def _issued_by(certificate: bytes, root: bytes) -> bool:
    try:
        child = x509.load_der_x509_certificate(certificate)
        parent = x509.load_der_x509_certificate(root)
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True
