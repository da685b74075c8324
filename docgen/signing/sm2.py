"""SM2 private keys: generation, signing, PKCS#8 storage (optionally PBES2-encrypted).

``cryptography`` cannot hold SM2 keys, so the PKCS#8 structure is built with asn1crypto and,
when a passphrase is given, encrypted as standard PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC)
with cryptography's primitives — the same format ``openssl pkey`` reads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import gmssl_pyx
from asn1crypto import algos, keys, pem
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ..gm import OID_SM2, SM2_DEFAULT_ID, sm2_public_key_info

__all__ = ["KeyFileError", "SM2PrivateKey"]

_PBKDF2_ITERATIONS = 200_000


class KeyFileError(ValueError):
    """A key file cannot be read: wrong passphrase, not SM2, or malformed."""


def _kdf(passphrase: bytes, salt: bytes, iterations: int) -> bytes:
    return PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(passphrase)


@dataclass(frozen=True, repr=False)
class SM2PrivateKey:
    """An SM2 key pair: 32-byte private scalar and 64-byte public point (x ‖ y)."""

    private: bytes
    public: bytes

    def __repr__(self) -> str:  # never show the private scalar
        return f"SM2PrivateKey(public={self.public[:8].hex()}…)"

    @classmethod
    def generate(cls) -> SM2PrivateKey:
        """A fresh key pair from GmSSL's random generator."""
        public, private = gmssl_pyx.sm2_key_generate()
        return cls(private=private, public=public)

    def sign(self, message: bytes, signer_id: bytes = SM2_DEFAULT_ID) -> bytes:
        """The DER SM3withSM2 signature of ``message`` (the SM3 Z value uses ``signer_id``)."""
        return bytes(gmssl_pyx.sm2_sign(self.private, self.public, message, signer_id))

    def public_key_info(self) -> keys.PublicKeyInfo:
        """The SubjectPublicKeyInfo of the public key."""
        return sm2_public_key_info(self.public)

    def _pkcs8(self) -> keys.PrivateKeyInfo:
        params = keys.ECDomainParameters(name="named", value=OID_SM2)
        inner = keys.ECPrivateKey(
            {
                "version": "ecPrivkeyVer1",
                "private_key": int.from_bytes(self.private, "big"),
                "parameters": params,
                "public_key": b"\x04" + self.public,
            }
        )
        return keys.PrivateKeyInfo(
            {
                "version": 0,
                "private_key_algorithm": {"algorithm": "ec", "parameters": params},
                "private_key": inner,
            }
        )

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        """PKCS#8 PEM; PBES2-encrypted (``ENCRYPTED PRIVATE KEY``) when a passphrase is given."""
        der = self._pkcs8().dump()
        if passphrase is None:
            return bytes(pem.armor("PRIVATE KEY", der))
        salt, iv = os.urandom(16), os.urandom(16)
        padder = padding.PKCS7(128).padder()
        padded = padder.update(der) + padder.finalize()
        key = _kdf(passphrase, salt, _PBKDF2_ITERATIONS)
        encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        encrypted = keys.EncryptedPrivateKeyInfo(
            {
                "encryption_algorithm": {
                    "algorithm": "pbes2",
                    "parameters": {
                        "key_derivation_func": {
                            "algorithm": "pbkdf2",
                            "parameters": {
                                "salt": algos.Pbkdf2Salt(name="specified", value=salt),
                                "iteration_count": _PBKDF2_ITERATIONS,
                                "prf": {"algorithm": "sha256"},
                            },
                        },
                        "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
                    },
                },
                "encrypted_data": encryptor.update(padded) + encryptor.finalize(),
            }
        )
        return bytes(pem.armor("ENCRYPTED PRIVATE KEY", encrypted.dump()))

    @classmethod
    def from_pem(cls, data: bytes, passphrase: bytes | None = None) -> SM2PrivateKey:
        """Load a key written by :meth:`to_pem` (or by OpenSSL).

        Raises:
            KeyFileError: malformed, not an SM2 key, encrypted without a passphrase given,
                or the passphrase is wrong.
        """
        try:
            kind, _, der = pem.unarmor(data)
        except ValueError as exc:
            raise KeyFileError(f"not a PEM key file ({exc})") from exc
        if kind == "ENCRYPTED PRIVATE KEY":
            if passphrase is None:
                raise KeyFileError("the key is encrypted; a passphrase is needed")
            der = cls._decrypt(der, passphrase)
        elif kind != "PRIVATE KEY":
            raise KeyFileError(f"expected a PKCS#8 private key, found {kind}")
        try:
            info = keys.PrivateKeyInfo.load(der)
            params = info["private_key_algorithm"]["parameters"]
            if params.chosen.dotted != OID_SM2:
                raise KeyFileError("not an SM2 key")
            inner = info["private_key"].parsed
            private = inner["private_key"].native.to_bytes(32, "big")
            public = bytes(inner["public_key"].native)[1:]
        except (ValueError, TypeError, AttributeError) as exc:
            raise KeyFileError(f"malformed SM2 private key ({exc})") from exc
        return cls(private=private, public=public)

    @staticmethod
    def _decrypt(der: bytes, passphrase: bytes) -> bytes:
        try:
            info = keys.EncryptedPrivateKeyInfo.load(der)
            params = info["encryption_algorithm"]["parameters"]
            kdf = params["key_derivation_func"]["parameters"]
            scheme = params["encryption_scheme"]
            if scheme["algorithm"].native != "aes256_cbc":
                raise KeyFileError(f"unsupported key encryption {scheme['algorithm'].native}")
            key = _kdf(passphrase, kdf["salt"].native, kdf["iteration_count"].native)
            decryptor = Cipher(algorithms.AES(key), modes.CBC(scheme["parameters"].native))
            plain = decryptor.decryptor()
            padded = plain.update(info["encrypted_data"].native) + plain.finalize()
            unpadder = padding.PKCS7(128).unpadder()
            return unpadder.update(padded) + unpadder.finalize()
        except ValueError as exc:
            raise KeyFileError("wrong passphrase or damaged key file") from exc
