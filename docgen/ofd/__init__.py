"""OFD (GB/T 33190): the package model (shared with the verifier) and, in ``writer``, the
writer. Importing this package does not load the renderer."""

from .package import DOC_ROOT, OFD_NS, read_package

__all__ = ["DOC_ROOT", "OFD_NS", "read_package"]
