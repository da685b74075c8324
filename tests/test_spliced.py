"""Signatures filled into DER templates are byte for byte what asn1crypto encodes directly."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from asn1crypto import cms

from docgen.ses.v4 import SES_Signature
from docgen.signing import ofd as ofd_signing
from docgen.signing import pdf as pdf_signing
from docgen.signing.sealer import Sealer
from docgen.signing.spliced import Template

from .conftest import AT, Sealed


def test_a_cms_signature_is_what_asn1crypto_builds(sealed: dict[str, Sealed]) -> None:
    signer = Sealer(sealed["skill"].store).ecdsa_signer
    parts = pdf_signing._parts(signer)
    lengths = set()
    for _ in range(40):  # ECDSA values of several DER lengths, each its own template
        digest = os.urandom(32)
        made = pdf_signing.cms_signature(digest, signer)
        info = cms.ContentInfo.load(made)["content"]["signer_infos"][0]
        signature = info["signature"].native
        lengths.add(len(signature))
        direct = pdf_signing._content_info(parts, {"digest": digest, "signature": signature})
        assert made == direct
        assert info["signed_attrs"][1]["values"][0].native == digest
    assert len(lengths) > 1


def test_an_ses_signature_is_what_asn1crypto_builds(sealed: dict[str, Sealed]) -> None:
    sealer = Sealer(sealed["skill"].store)
    signer, seal = sealer.ofd_signer, sealer.seal
    place = "/Doc_0/Signs/Sign_0/Signature.xml"
    for n in range(20):
        when = AT + timedelta(seconds=37 * n)
        signature_file = os.urandom(200 + n)
        made = ofd_signing.ses_signature(signature_file, seal, signer, signer.key, place, when)
        parsed = SES_Signature.load(made)
        values = {
            "time": parsed["toSign"]["timeInfo"].contents,
            "hash": parsed["toSign"]["dataHash"].native,
            "signature": parsed["signature"].native,
        }
        assert parsed["toSign"]["timeInfo"].native == when.replace(microsecond=0)
        assert made == ofd_signing._ses(seal, signer, place, values)


def test_a_template_refuses_short_markers_and_values_of_another_length() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        Template(lambda v: b"\x04\x02" + v["x"], {"x": 2})
    template = Template(lambda v: b"\x30\x0c\x04\x0a" + v["x"], {"x": 10})
    assert template.fill({"x": b"0123456789"}) == b"\x30\x0c\x04\x0a0123456789"
    with pytest.raises(ValueError, match="has 9 bytes"):
        template.fill({"x": b"012345678"})
