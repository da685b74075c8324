"""pyHanko's ``pyhanko.sign`` package, its validation half without its signing half.

The package's ``__init__`` imports the signers, and they the timestamp client, which imports
aiohttp: 150 of the 250 ms that importing pyHanko's validation takes, in a verifier that
signs nothing and fetches nothing. Importing this module first puts ``pyhanko.sign`` in
place as the package it is, but with its ``__init__`` run only when a name that only the
``__init__`` defines (``PdfSigner``, ``sign_pdf``, …) is first asked of it; submodules such
as ``pyhanko.sign.validation`` import as they always do. If anything imported
``pyhanko.sign`` before, nothing is changed.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import pyhanko

__all__: list[str] = []

_NAME = "pyhanko.sign"


def _lean() -> None:
    spec = importlib.util.find_spec(_NAME)
    if spec is None or spec.loader is None:  # pragma: no cover - pyHanko is a dependency
        return
    loader = spec.loader
    module = importlib.util.module_from_spec(spec)  # __path__, __spec__, … but no __init__
    ran = False

    def rest(name: str) -> Any:
        """A name the package's ``__init__`` defines: it is run, once, then asked."""
        nonlocal ran
        if not ran:
            ran = True
            loader.exec_module(module)
        try:
            return module.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {_NAME!r} has no attribute {name!r}") from None

    module.__dict__["__getattr__"] = rest
    sys.modules[_NAME] = module
    pyhanko.sign = module  # type: ignore[attr-defined]


if _NAME not in sys.modules:
    _lean()
