"""PDF rendering of a certificate layout with reportlab."""

from .render import render_pdf

__all__ = ["render_pdf"]
