"""Sign an issuing body's status list with its current QR signer (COSE_Sign1, ES256)."""

from __future__ import annotations

from ..statuslist import StatusList
from .keystore import Signer
from .qr import sign_cose

__all__ = ["sign_status_list"]


def sign_status_list(status_list: StatusList, signer: Signer) -> bytes:
    """The signed status list file.

    Raises:
        ValueError: the signer is not an ECDSA P-256 signer.
    """
    return sign_cose(status_list.to_cbor(), signer)
