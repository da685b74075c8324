"""SM3withSM2 signatures by the system's OpenSSL 3 (``libcrypto.so.3``).

GmSSL (``gmssl_pyx``) signs in about 2.7 ms; OpenSSL 3's SM2 implementation signs in about
0.4 ms, which matters when a batch seals a hundred OFDs a second. ``cryptography`` exposes no
SM2, so the few EVP calls of a signature are made through ``ctypes``: the key is loaded once
from its PKCS#8 DER (``d2i_AutoPrivateKey``), and each signature is ``EVP_DigestSign`` with
SM3 and the signer ID of GB/T 35276 set on the key context. No cryptography is written here;
every step is OpenSSL's. Signatures are checked by GmSSL and OpenSSL's command line in the
tests.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

__all__ = ["LibcryptoError", "OpenSSLSM2Key"]

_P = ctypes.c_void_p
# A DER SM2 signature is at most 72 bytes (two 33-byte INTEGERs and their headers).
_MAX_SIGNATURE = 80


class LibcryptoError(RuntimeError):
    """OpenSSL refused a step; the message holds its error queue."""


@lru_cache(maxsize=1)
def _lib() -> ctypes.CDLL:
    name = "libcrypto.so.3"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        found = ctypes.util.find_library("crypto")
        if found is None:
            raise LibcryptoError("OpenSSL 3 (libcrypto.so.3) is not installed") from None
        lib = ctypes.CDLL(found)
    lib.OpenSSL_version_num.restype = ctypes.c_ulong
    if lib.OpenSSL_version_num() < 0x30000000:
        raise LibcryptoError("OpenSSL 3 is needed for SM2 signatures")
    signatures = {
        "d2i_AutoPrivateKey": (_P, [_P, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long]),
        "EVP_PKEY_free": (None, [_P]),
        "EVP_MD_CTX_new": (_P, []),
        "EVP_MD_CTX_free": (None, [_P]),
        "EVP_PKEY_CTX_new": (_P, [_P, _P]),
        "EVP_PKEY_CTX_free": (None, [_P]),
        "EVP_PKEY_CTX_set1_id": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_size_t]),
        "EVP_MD_CTX_set_pkey_ctx": (None, [_P, _P]),
        "EVP_sm3": (_P, []),
        "EVP_DigestSignInit": (ctypes.c_int, [_P, _P, _P, _P, _P]),
        "EVP_DigestSign": (
            ctypes.c_int,
            [
                _P,
                ctypes.c_char_p,
                ctypes.POINTER(ctypes.c_size_t),
                ctypes.c_char_p,
                ctypes.c_size_t,
            ],
        ),
        "ERR_get_error": (ctypes.c_ulong, []),
        "ERR_error_string_n": (None, [ctypes.c_ulong, ctypes.c_char_p, ctypes.c_size_t]),
    }
    for function, (restype, argtypes) in signatures.items():
        getattr(lib, function).restype = restype
        getattr(lib, function).argtypes = argtypes
    return lib


def _failed(step: str) -> LibcryptoError:
    lib = _lib()
    reasons = []
    while code := lib.ERR_get_error():
        text = ctypes.create_string_buffer(256)
        lib.ERR_error_string_n(code, text, len(text))
        reasons.append(text.value.decode("ascii", "replace"))
    return LibcryptoError(f"OpenSSL {step} failed: {'; '.join(reasons) or 'no reason given'}")


class OpenSSLSM2Key:
    """An SM2 private key loaded into OpenSSL from its PKCS#8 DER."""

    def __init__(self, pkcs8_der: bytes) -> None:
        lib = _lib()
        cursor = ctypes.c_char_p(pkcs8_der)
        self._pkey = lib.d2i_AutoPrivateKey(None, ctypes.byref(cursor), len(pkcs8_der))
        if not self._pkey:
            raise _failed("loading the SM2 key")

    def __del__(self) -> None:
        pkey = getattr(self, "_pkey", None)
        if pkey:
            _lib().EVP_PKEY_free(pkey)

    def sign(self, message: bytes, signer_id: bytes) -> bytes:
        """The DER SM3withSM2 signature of ``message`` (Z computed with ``signer_id``)."""
        lib = _lib()
        md = lib.EVP_MD_CTX_new()
        pctx = lib.EVP_PKEY_CTX_new(self._pkey, None)
        try:
            if not md or not pctx:
                raise _failed("allocating a signing context")
            if lib.EVP_PKEY_CTX_set1_id(pctx, signer_id, len(signer_id)) != 1:
                raise _failed("setting the SM2 signer ID")
            lib.EVP_MD_CTX_set_pkey_ctx(md, pctx)
            if lib.EVP_DigestSignInit(md, None, lib.EVP_sm3(), None, self._pkey) != 1:
                raise _failed("starting an SM3withSM2 signature")
            out = ctypes.create_string_buffer(_MAX_SIGNATURE)
            size = ctypes.c_size_t(_MAX_SIGNATURE)
            if lib.EVP_DigestSign(md, out, ctypes.byref(size), message, len(message)) != 1:
                raise _failed("signing")
            return out.raw[: size.value]
        finally:
            # The digest context does not own a key context given to it: both are freed.
            if md:
                lib.EVP_MD_CTX_free(md)
            if pctx:
                lib.EVP_PKEY_CTX_free(pctx)
