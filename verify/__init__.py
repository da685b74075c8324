"""Verification of certificates (scans, photos, OFD and PDF files) against a trust list.

Trusts only the trust list it is given; may share format code with the issuer (the OFD
package model, SES structures, the QR payload schema) but never imports key loading or
signing code.
"""
