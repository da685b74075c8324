"""PDF rendering of a certificate layout, written directly from the layout model."""

from .render import render_for_signing, render_pdf

__all__ = ["render_for_signing", "render_pdf"]
