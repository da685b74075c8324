"""加注: holders annotate their certificates for a use scenario and a window.

The one entry is :func:`annotate`: it checks the kind's rules (:mod:`.rules`, data in the
kind file), that the certificate is the signed-in holder's (:mod:`.holders`) and valid,
records the annotation in the registry and its audit log, and writes the annotated copy —
OFD and PDF with a second signature over the 加注 band (:mod:`.copies`).

The names are loaded on first use, so that the verifier can read :mod:`.rules` without
the registry's database libraries.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .annotating import Annotation, LimitReached, annotate
    from .holders import SignInError, certificates_of, register, sign_in
    from .rules import AnnotationRules

__all__ = [
    "Annotation",
    "AnnotationRules",
    "LimitReached",
    "SignInError",
    "annotate",
    "certificates_of",
    "register",
    "sign_in",
]

_HOME = {
    "Annotation": "annotating",
    "annotate": "annotating",
    "LimitReached": "annotating",
    "AnnotationRules": "rules",
    "SignInError": "holders",
    "certificates_of": "holders",
    "register": "holders",
    "sign_in": "holders",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_HOME[name]}", __name__), name)
