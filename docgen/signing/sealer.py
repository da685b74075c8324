"""Everything an issuing run needs to make files authentic, loaded once per run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..clock import now as clock_now
from ..errors import FieldProblem
from ..layout import DocumentLayout
from ..validation import Certificate
from .keystore import KeyStore
from .ofd import seal_ofd
from .pdf import sign_pdf
from .qr import claims_for, sign_claims

__all__ = ["Sealer"]


class Sealer:
    """Signs with one key store: the OFD in ``profile``, the PDF and QR with ECDSA.

    ``clock`` gives the signing time (the real time of sealing by default; the certificate's
    issue date is a separate, validated field).
    """

    def __init__(
        self,
        store: KeyStore,
        profile: str = "sm2",
        tsa_url: str | None = None,
        clock: Callable[[], datetime] = clock_now,
    ) -> None:
        self.identity = store.identity
        self.ofd_signer = store.signer(profile)
        self.ecdsa_signer = self.ofd_signer if profile == "ecdsa" else store.signer("ecdsa")
        self.seal, self.seal_png = store.seal()
        self.tsa_url = tsa_url
        self.clock = clock

    def problems(self, cert: Certificate) -> list[FieldProblem]:
        """Why this key store may not sign ``cert`` (its issuer is another body)."""
        code = cert.values.get("issuer_code")
        if code != self.identity.code:
            return [
                FieldProblem(
                    "issuer_code",
                    f"{code} is not the key store's issuer "
                    f"{self.identity.name} ({self.identity.code})",
                )
            ]
        return []

    def qr_text(self, cert: Certificate) -> str:
        """The signed QR payload of ``cert``."""
        return sign_claims(claims_for(cert), self.ecdsa_signer)

    def seal_ofd(self, layout: DocumentLayout) -> bytes:
        """The sealed (sm2) or signed (ecdsa) OFD of ``layout``."""
        return seal_ofd(layout, self.ofd_signer, self.seal, self.clock())

    def sealed_pdf(self, layout: DocumentLayout) -> bytes:
        """The PDF of ``layout`` with a visible PAdES signature."""
        return sign_pdf(
            layout,
            self.ecdsa_signer,
            self.seal_png,
            self.identity.name,
            self.clock(),
            self.tsa_url,
        )
