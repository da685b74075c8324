"""OFD (GB/T 33190) package model and writer."""

from .package import OFD_NS, read_package
from .writer import build_parts, write_ofd

__all__ = ["OFD_NS", "build_parts", "read_package", "write_ofd"]
