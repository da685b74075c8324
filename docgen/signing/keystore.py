"""An issuing body's keys: a development PKI in two profiles, its electronic seal, a trust list.

Layout of a key folder (private keys mode 0600, the folder 0700)::

    keystore.json             public index: issuer, generations, current generation
    trust.json                the trust list handed to verifiers (public)
    sm2/root.pem  root.key    SM2 root CA
    sm2/sealmaker.pem .key    SM2 seal maker (signs SESeal)
    sm2/issuer-N.pem .key     SM2 document signer, generation N
    ecdsa/root.pem root.key   P-256 root CA
    ecdsa/issuer-N.pem .key   P-256 document signer (also signs QR payloads), generation N
    seal/seal-N.esl .png      the GB/T 38540 seal of generation N and its picture

``rotate`` adds generation N+1 (new signer keys in both profiles and a new seal listing the
new SM2 signer); earlier generations stay in the trust list, so what they signed still
verifies.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..atomic import write_atomically
from ..errors import DocgenError
from .certs import CertRole, Subject, ecdsa_certificate, sm2_certificate
from .profiles import PROFILES
from .seal import SealSpec, make_seal
from .sealpic import draw_seal
from .sm2 import KeyFileError, SM2PrivateKey

__all__ = [
    "PROFILES",
    "TRUST_LIST_FORMAT",
    "IssuerIdentity",
    "KeyStore",
    "KeyStoreError",
    "Signer",
    "key_id",
]

TRUST_LIST_FORMAT = "docgen-trust-list/1"
_INDEX = "keystore.json"
_ROOT_DAYS = 20 * 365
_SIGNER_DAYS = 5 * 365
_SEAL_SIZE_MM = 40


class KeyStoreError(DocgenError):
    """A key folder is missing, incomplete, or a key cannot be read."""


@dataclass(frozen=True)
class IssuerIdentity:
    """Who issues: name, 统一社会信用代码, and the seal's title (e.g. 电子证照专用章)."""

    name: str
    code: str
    seal_title: str


@dataclass(frozen=True, repr=False)
class Signer:
    """One generation's document signer in one profile, with what a signature needs."""

    profile: str
    generation: int
    certificate: bytes  # DER
    root: bytes  # DER of the profile's root
    key: SM2PrivateKey | ec.EllipticCurvePrivateKey

    @property
    def kid(self) -> bytes:
        """Key id: the first 8 bytes of SHA-256 of the certificate (as EU DCC does)."""
        return key_id(self.certificate)

    def ecdsa_pkcs8(self, encoding: serialization.Encoding) -> bytes:
        """The private key as unencrypted PKCS#8, for libraries that take key bytes
        (pyHanko, cwt); it stays in memory.

        Raises:
            ValueError: this is not an ECDSA signer.
        """
        if not isinstance(self.key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"the {self.profile} signer has no ECDSA key")
        return self.key.private_bytes(
            encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def __repr__(self) -> str:
        return f"Signer({self.profile}, generation {self.generation}, kid {self.kid.hex()})"


def key_id(certificate_der: bytes) -> bytes:
    """The key id of a signer certificate: SHA-256(DER)[:8]."""
    return hashlib.sha256(certificate_der).digest()[:8]


def _pem(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def _der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def _ecdsa_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes | None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


class KeyStore:
    """A key folder. Create with :meth:`init`, open with :meth:`open`."""

    def __init__(self, folder: Path, index: dict[str, Any], passphrase: bytes | None) -> None:
        self.folder = folder
        self.index = index
        self._passphrase = passphrase

    # -- creation ---------------------------------------------------------------------

    @classmethod
    def init(
        cls, folder: Path, identity: IssuerIdentity, at: datetime, passphrase: bytes | None = None
    ) -> KeyStore:
        """Create roots, the seal maker and generation 1 in ``folder`` (which must not hold
        a key store yet), valid from ``at``.

        Raises:
            KeyStoreError: ``folder`` already holds a key store.
            OutputError: files cannot be written.
        """
        if (folder / _INDEX).exists():
            raise KeyStoreError(f"{folder} already holds a key store; use `docgen keys rotate`")
        at = at.astimezone(UTC).replace(microsecond=0)
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        org = identity.name
        sm2_root_name = Subject("根证书 SM2", org, identity.code)
        ec_root_name = Subject("根证书 ECDSA", org, identity.code)
        maker = Subject("制章者", org, identity.code)
        sm2_root, sm2_maker = SM2PrivateKey.generate(), SM2PrivateKey.generate()
        ec_root = ec.generate_private_key(ec.SECP256R1())
        public = {
            folder / "sm2/root.pem": _pem(
                sm2_certificate(
                    sm2_root_name,
                    sm2_root,
                    sm2_root_name,
                    sm2_root,
                    CertRole(True, 1),
                    at,
                    _ROOT_DAYS,
                )
            ),
            folder / "sm2/sealmaker.pem": _pem(
                sm2_certificate(
                    maker, sm2_maker, sm2_root_name, sm2_root, CertRole(False), at, _ROOT_DAYS
                )
            ),
            folder / "ecdsa/root.pem": _pem(
                ecdsa_certificate(
                    ec_root_name,
                    ec_root,
                    ec_root_name,
                    ec_root,
                    CertRole(True, 1),
                    at,
                    _ROOT_DAYS,
                )
            ),
        }
        private = {
            folder / "sm2/root.key": sm2_root.to_pem(passphrase),
            folder / "sm2/sealmaker.key": sm2_maker.to_pem(passphrase),
            folder / "ecdsa/root.key": _ecdsa_pem(ec_root, passphrase),
        }
        write_atomically(private, mode=0o600)
        write_atomically(public)
        index: dict[str, Any] = {
            "format": "docgen-keystore/1",
            "issuer": {
                "name": identity.name,
                "code": identity.code,
                "seal_title": identity.seal_title,
            },
            "generations": [],
        }
        store = cls(folder, index, passphrase)
        store._add_generation(at)
        return store

    @classmethod
    def open(cls, folder: Path, passphrase: bytes | None = None) -> KeyStore:
        """Open an existing key folder.

        Raises:
            KeyStoreError: no key store there, or its index is unreadable.
        """
        try:
            index = json.loads((folder / _INDEX).read_text("utf-8"))
        except FileNotFoundError:
            raise KeyStoreError(
                f"{folder} holds no key store; create one with `docgen keys init`"
            ) from None
        except (OSError, json.JSONDecodeError) as exc:
            raise KeyStoreError(f"{folder / _INDEX} is unreadable ({exc})") from exc
        return cls(folder, index, passphrase)

    @property
    def identity(self) -> IssuerIdentity:
        """The issuing body this key store belongs to."""
        issuer = self.index["issuer"]
        return IssuerIdentity(issuer["name"], issuer["code"], issuer["seal_title"])

    @property
    def generation(self) -> int:
        """The current (newest) generation."""
        return int(self.index["generations"][-1]["n"])

    def rotate(self, at: datetime) -> int:
        """Add a generation with fresh signer keys and seal; returns its number."""
        self._add_generation(at.astimezone(UTC).replace(microsecond=0))
        return self.generation

    def _remove_temporaries(self) -> None:
        """Remove what a run killed while writing left: the temporary files of
        :func:`write_atomically` (``.NAME.*.tmp``; a killed process cannot remove its own,
        and some hold private keys of a generation that never came to be)."""
        for folder in (self.folder, *(self.folder / name for name in (*PROFILES, "seal"))):
            for temporary in folder.glob(".*.tmp"):
                temporary.unlink(missing_ok=True)

    def _add_generation(self, at: datetime) -> None:
        self._remove_temporaries()
        n = len(self.index["generations"]) + 1
        identity = self.identity
        sm2_root_name = Subject("根证书 SM2", identity.name, identity.code)
        ec_root_name = Subject("根证书 ECDSA", identity.name, identity.code)
        signer = Subject(f"签发证书 {n}", identity.name, identity.code)
        sm2_key = SM2PrivateKey.generate()
        ec_key = ec.generate_private_key(ec.SECP256R1())
        sm2_root = self._sm2_key("sm2/root.key")
        ec_root = self._ecdsa_key("ecdsa/root.key")
        sm2_cert = sm2_certificate(
            signer, sm2_key, sm2_root_name, sm2_root, CertRole(False), at, _SIGNER_DAYS
        )
        ec_cert = ecdsa_certificate(
            signer, ec_key, ec_root_name, ec_root, CertRole(False), at, _SIGNER_DAYS
        )
        picture = draw_seal(identity.name, identity.seal_title)
        seal = make_seal(
            SealSpec(
                es_id=f"{identity.code}{n:04d}",
                name=f"{identity.name}{identity.seal_title}",
                picture_png=picture,
                width_mm=_SEAL_SIZE_MM,
                height_mm=_SEAL_SIZE_MM,
                signer_certs=(sm2_cert,),
                created=at,
                valid_start=at,
                valid_end=at + timedelta(days=_SIGNER_DAYS),
            ),
            self._sm2_key("sm2/sealmaker.key"),
            _der((self.folder / "sm2/sealmaker.pem").read_bytes()),
        )
        f = self.folder
        write_atomically(
            {
                f / f"sm2/issuer-{n}.key": sm2_key.to_pem(self._passphrase),
                f / f"ecdsa/issuer-{n}.key": _ecdsa_pem(ec_key, self._passphrase),
            },
            mode=0o600,
        )
        write_atomically(
            {
                f / f"sm2/issuer-{n}.pem": _pem(sm2_cert),
                f / f"ecdsa/issuer-{n}.pem": _pem(ec_cert),
                f / f"seal/seal-{n}.esl": seal,
                f / f"seal/seal-{n}.png": picture,
            }
        )
        self.index["generations"].append({"n": n, "created": at.isoformat()})
        trust = json.dumps(self.trust_list(), ensure_ascii=False, indent=2).encode()
        index = json.dumps(self.index, ensure_ascii=False, indent=2).encode()
        write_atomically({f / "trust.json": trust, f / _INDEX: index})

    # -- reading ----------------------------------------------------------------------

    def _read(self, name: str) -> bytes:
        try:
            return (self.folder / name).read_bytes()
        except OSError as exc:
            raise KeyStoreError(f"cannot read {self.folder / name} ({exc.strerror})") from exc

    def _sm2_key(self, name: str) -> SM2PrivateKey:
        try:
            return SM2PrivateKey.from_pem(self._read(name), self._passphrase)
        except KeyFileError as exc:
            raise KeyStoreError(f"{self.folder / name}: {exc}") from exc

    def _ecdsa_key(self, name: str) -> ec.EllipticCurvePrivateKey:
        try:
            key = serialization.load_pem_private_key(self._read(name), self._passphrase)
        except (ValueError, TypeError) as exc:
            raise KeyStoreError(f"{self.folder / name}: wrong passphrase or bad key") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyStoreError(f"{self.folder / name}: not an EC key")
        return key

    def certificate(self, name: str) -> bytes:
        """DER of a certificate file of this store, e.g. ``sm2/issuer-1.pem``."""
        return _der(self._read(name))

    def signer(self, profile: str, generation: int | None = None) -> Signer:
        """The document signer of ``profile`` (``sm2`` or ``ecdsa``), current by default.

        Raises:
            KeyStoreError: unknown profile or generation, or the key cannot be read.
        """
        if profile not in PROFILES:
            raise KeyStoreError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
        n = generation or self.generation
        if not 1 <= n <= self.generation:
            raise KeyStoreError(f"no generation {n} (have 1-{self.generation})")
        key: SM2PrivateKey | ec.EllipticCurvePrivateKey = (
            self._sm2_key(f"sm2/issuer-{n}.key")
            if profile == "sm2"
            else self._ecdsa_key(f"ecdsa/issuer-{n}.key")
        )
        return Signer(
            profile=profile,
            generation=n,
            certificate=self.certificate(f"{profile}/issuer-{n}.pem"),
            root=self.certificate(f"{profile}/root.pem"),
            key=key,
        )

    def seal(self, generation: int | None = None) -> tuple[bytes, bytes]:
        """``(SESeal DER, picture PNG)`` of a generation, current by default."""
        n = generation or self.generation
        return self._read(f"seal/seal-{n}.esl"), self._read(f"seal/seal-{n}.png")

    def trust_list(self) -> dict[str, Any]:
        """The public trust list: roots, every generation's signers with validity and key id,
        and the seals' ids and digests."""
        signers = []
        seals = []
        for generation in self.index["generations"]:
            n = generation["n"]
            for profile in PROFILES:
                der = self.certificate(f"{profile}/issuer-{n}.pem")
                cert = x509.load_der_x509_certificate(der)
                signers.append(
                    {
                        "profile": profile,
                        "generation": n,
                        "kid": key_id(der).hex(),
                        "not_before": cert.not_valid_before_utc.isoformat(),
                        "not_after": cert.not_valid_after_utc.isoformat(),
                        "certificate": _pem(der).decode(),
                    }
                )
            esl = self._read(f"seal/seal-{n}.esl")
            seals.append({"generation": n, "sha256": hashlib.sha256(esl).hexdigest()})
        return {
            "format": TRUST_LIST_FORMAT,
            "issuer": {"name": self.identity.name, "code": self.identity.code},
            "roots": {p: self._read(f"{p}/root.pem").decode() for p in PROFILES},
            "seal_maker": self._read("sm2/sealmaker.pem").decode(),
            "signers": signers,
            "seals": seals,
        }
