"""The signing profiles an issuer's key store has: ``sm2`` (GB/T 38540 seal, SM2/SM3) and
``ecdsa`` (ECDSA P-256). A module of its own so that the command line can offer them
without loading any cryptography."""

from __future__ import annotations

__all__ = ["PROFILES"]

PROFILES = ("sm2", "ecdsa")
