"""Issuing electronic vocational certificates: one layout per kind, rendered to OFD and PDF."""

__version__ = "0.1.0"

__all__ = ["__version__"]
