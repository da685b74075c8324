"""The verification report: named checks, the signed data, a verdict decided in one place.

Steps (the order a person reads them in):
  1. ``format``      — the file or image can be read; every referenced part is present
  2. ``qr``          — a QR code is found and decoded; its signature and key are trusted
  3. ``signature``   — file signatures: digests, signature values, signer chains, changes
  4. ``consistency`` — the QR's claims agree with the file's metadata and printed text
  5. ``annotation``  — an annotated copy's 加注: its signed claims, and that they are this
                       certificate's
  6. ``validity``    — the certificate is in force at the given time (its signed dates), and
                       an annotation's window is open
  7. ``status``      — what its issuer says now: the registry, or a signed status list
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["STEPS", "Check", "Outcome", "Report", "SignatureInfo", "Verdict"]

STEPS = ("format", "qr", "signature", "consistency", "annotation", "validity", "status")
#: Steps that say whether a certificate is in force, not whether it is authentic.
_VALIDITY_STEPS = ("validity", "status")


class Verdict(StrEnum):
    """The answer to "is this authentic?"."""

    AUTHENTIC = "authentic"
    NOT_AUTHENTIC = "not_authentic"
    CANNOT_VERIFY = "cannot_verify"


class Outcome(StrEnum):
    """How one check came out."""

    PASS = "pass"
    FAIL = "fail"  # evidence against authenticity (or validity, in steps 5 and 6)
    CANNOT = "cannot"  # could not be decided (unsupported, unknown signer, ...)
    INFO = "info"  # something to know, neither for nor against


@dataclass(frozen=True)
class Check:
    """One named check: its step, outcome and a sentence saying why."""

    step: str
    name: str
    outcome: Outcome
    detail: str
    evidence: bool = False  # a pass that vouches for authenticity (trusted signature)

    @property
    def ok(self) -> bool | None:
        """True for a pass, False for a failure, None when undecided or informational."""
        return {Outcome.PASS: True, Outcome.FAIL: False}.get(self.outcome)


@dataclass(frozen=True)
class SignatureInfo:
    """One signature of a file, as found."""

    kind: str  # e.g. "OFD seal (SES v4)", "OFD sign (CMS)", "PDF (PAdES)"
    signer: str
    intact: bool | None
    trusted: bool | None
    signed_at: str | None = None
    detail: str = ""
    organization: str | None = None  # the signer certificate's O, to compare signatures


@dataclass
class Report:
    """Everything the verifier found about one input."""

    source: str
    format: str = "unknown"
    checks: list[Check] = field(default_factory=list)
    certificate: dict[str, Any] | None = None
    qr_text: list[str] = field(default_factory=list)
    signatures: list[SignatureInfo] = field(default_factory=list)
    decoder: str | None = None
    unreadable: str | None = None
    registry_status: dict[str, Any] | None = None
    annotation: dict[str, Any] | None = None  # an annotated copy's signed 加注 claims

    def add(
        self, step: str, name: str, outcome: Outcome, detail: str, evidence: bool = False
    ) -> Check:
        """Record a check and return it."""
        check = Check(step, name, outcome, detail, evidence)
        self.checks.append(check)
        return check

    @property
    def verdict(self) -> Verdict:
        """Authentic only with trusted evidence and no failure in steps 1-4."""
        if self.unreadable is not None:
            return Verdict.CANNOT_VERIFY
        checks = [c for c in self.checks if c.step not in _VALIDITY_STEPS]
        if any(c.outcome is Outcome.FAIL for c in checks):
            return Verdict.NOT_AUTHENTIC
        if any(c.evidence and c.outcome is Outcome.PASS for c in checks):
            return Verdict.AUTHENTIC
        if any(c.outcome is Outcome.CANNOT for c in checks):
            return Verdict.CANNOT_VERIFY
        return Verdict.NOT_AUTHENTIC

    @property
    def valid(self) -> bool | None:
        """Whether the certificate is in force at the checked time: False when its dates or
        its issuer's status say no, None when not known (no dates, or a status that was
        asked for but could not be established)."""
        checks = [c for c in self.checks if c.step in _VALIDITY_STEPS]
        if any(c.outcome is Outcome.FAIL for c in checks):
            return False
        if self.status_unknown or not any(c.ok for c in checks):
            return None
        return True

    @property
    def status_unknown(self) -> bool:
        """A registry or status list was given but could not answer."""
        return any(c.step == "status" and c.outcome is Outcome.CANNOT for c in self.checks)

    @property
    def failed_steps(self) -> list[str]:
        """Steps with a failing check, in step order."""
        failed = {c.step for c in self.checks if c.outcome is Outcome.FAIL}
        return [s for s in STEPS if s in failed]

    @property
    def exit_code(self) -> int:
        """0 authentic and valid; 1 not authentic or not valid; 2 could not be checked (also
        when the status asked for could not be established)."""
        verdict = self.verdict
        if verdict is Verdict.CANNOT_VERIFY:
            return 2
        if verdict is Verdict.AUTHENTIC and self.valid is False:
            return 1
        if verdict is Verdict.AUTHENTIC and self.status_unknown:
            return 2
        return 0 if verdict is Verdict.AUTHENTIC else 1

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (for ``--json``)."""
        return {
            "source": self.source,
            "format": self.format,
            "verdict": self.verdict.value,
            "valid": self.valid,
            "failed_steps": self.failed_steps,
            "checks": [
                {
                    "step": c.step,
                    "name": c.name,
                    "ok": c.ok,
                    "outcome": c.outcome.value,
                    "detail": c.detail,
                }
                for c in self.checks
            ],
            "certificate": self.certificate,
            "qr_text": self.qr_text,
            "qr_decoder": self.decoder,
            "signatures": [asdict(s) for s in self.signatures],
            "unreadable": self.unreadable,
            "registry_status": self.registry_status,
            "annotation": self.annotation,
        }

    def to_text(self) -> str:
        """The report for a person: verdict first, then each step's checks."""
        marks = {Outcome.PASS: "✓", Outcome.FAIL: "✗", Outcome.CANNOT: "?", Outcome.INFO: "·"}
        verdict = {
            Verdict.AUTHENTIC: "AUTHENTIC",
            Verdict.NOT_AUTHENTIC: "NOT AUTHENTIC",
            Verdict.CANNOT_VERIFY: "CANNOT VERIFY",
        }[self.verdict]
        lines = [f"{self.source}: {verdict}"]
        if self.verdict is Verdict.AUTHENTIC and self.valid is False:
            lines[0] += " — but NOT VALID at the checked time"
        elif self.verdict is Verdict.AUTHENTIC and self.status_unknown:
            lines[0] += " — but its STATUS COULD NOT BE ESTABLISHED"
        if self.unreadable:
            lines.append(f"  {self.unreadable}")
        for step in STEPS:
            checks = [c for c in self.checks if c.step == step]
            if checks:
                lines.append(f"  {step}")
                lines += [f"    {marks[c.outcome]} {c.name}: {c.detail}" for c in checks]
        if self.certificate:
            lines.append("  signed data (compare with what is printed)")
            lines += [f"    {k}: {v}" for k, v in self.certificate.items()]
        if self.annotation:
            lines.append("  signed 加注 (annotation)")
            lines += [f"    {k}: {v}" for k, v in self.annotation.items()]
        return "\n".join(lines)
