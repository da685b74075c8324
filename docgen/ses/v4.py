"""GB/T 38540-2020 ("v4") electronic seal and seal-signature structures, as asn1crypto types.

Names follow the standard (``SESeal``, ``SES_SealInfo``, ``TBS_Sign``, ``SES_Signature``) so
the code can be read against it. Format only: building the to-be-signed bytes is here,
signing is not.
"""

from __future__ import annotations

from asn1crypto import core

__all__ = [
    "CERT_LIST_CERTS",
    "CERT_LIST_DIGESTS",
    "VERSION",
    "CertDigestList",
    "CertInfoList",
    "ExtData",
    "ExtensionDatas",
    "SES_ESPictrueInfo",
    "SES_ESPropertyInfo",
    "SES_Header",
    "SES_SealInfo",
    "SES_Signature",
    "SESeal",
    "TBS_Sign",
    "seal_to_be_signed",
]

#: Seal format version written by this module.
VERSION = 4


class ExtData(core.Sequence):
    """One extension: OID, criticality, value."""

    _fields = [
        ("extnID", core.ObjectIdentifier),
        ("critical", core.Boolean, {"default": False}),
        ("extnValue", core.OctetString),
    ]


class ExtensionDatas(core.SequenceOf):
    _child_spec = ExtData


class SES_Header(core.Sequence):
    """``ID`` is always "ES"; ``version`` 4; ``Vid`` the vendor id."""

    _fields = [
        ("ID", core.IA5String),
        ("version", core.Integer),
        ("Vid", core.IA5String),
    ]


class CertInfoList(core.SequenceOf):
    """Signer certificates (DER), each as an OCTET STRING."""

    _child_spec = core.OctetString


class CertDigestObj(core.Sequence):
    _fields = [("type", core.PrintableString), ("value", core.OctetString)]


class CertDigestList(core.SequenceOf):
    _child_spec = CertDigestObj


#: ``certListType`` values: the list holds certificates, or certificate digests.
CERT_LIST_CERTS = 1
CERT_LIST_DIGESTS = 2


def _cert_list_spec(info: SES_ESPropertyInfo) -> type[core.Asn1Value]:
    # SES_CertList is an untagged CHOICE whose two arms are both SEQUENCE OF: the tag cannot
    # tell them apart, certListType does (as ofdrw and other readers decide).
    if info["certListType"].native == CERT_LIST_DIGESTS:
        return CertDigestList
    return CertInfoList


class SES_ESPropertyInfo(core.Sequence):
    """Seal properties; ``certList`` holds the certificates allowed to sign with the seal."""

    _fields = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("certListType", core.Integer),
        ("certList", core.Any),
        ("createDate", core.GeneralizedTime),
        ("validStart", core.GeneralizedTime),
        ("validEnd", core.GeneralizedTime),
    ]
    _spec_callbacks = {"certList": _cert_list_spec}


class SES_ESPictrueInfo(core.Sequence):
    """The seal picture (the standard spells it "Pictrue"): ``type`` "png"/"ofd"/"svg",
    the data, and the drawn size in mm."""

    _fields = [
        ("type", core.IA5String),
        ("data", core.OctetString),
        ("width", core.Integer),
        ("height", core.Integer),
    ]


class SES_SealInfo(core.Sequence):
    _fields = [
        ("header", SES_Header),
        ("esID", core.IA5String),
        ("property", SES_ESPropertyInfo),
        ("picture", SES_ESPictrueInfo),
        ("extDatas", ExtensionDatas, {"optional": True}),
    ]


class SESeal(core.Sequence):
    """An electronic seal, signed by the seal maker (制章者)."""

    _fields = [
        ("eSealInfo", SES_SealInfo),
        ("cert", core.OctetString),
        ("signAlgID", core.ObjectIdentifier),
        ("signedValue", core.OctetBitString),
    ]


def seal_to_be_signed(info: SES_SealInfo) -> bytes:
    """The bytes the seal maker signs: DER(SES_SealInfo).

    This is what ofdrw and the independent gm_0031_38540_verifier sign and check; some
    descriptions of the standard add ``cert`` and ``signAlgID``, which no reader we know of
    does, so interoperability decides.
    """
    return bytes(info.dump())


class TBS_Sign(core.Sequence):
    """What a seal signature signs: the seal, the time and the digest of the protected data."""

    _fields = [
        ("version", core.Integer),
        ("eseal", SESeal),
        ("timeInfo", core.GeneralizedTime),
        ("dataHash", core.OctetBitString),
        ("propertyInfo", core.IA5String),
        ("extDatas", ExtensionDatas, {"explicit": 0, "optional": True}),
    ]


class SES_Signature(core.Sequence):
    """A seal signature: ``signature`` is SM3withSM2 over DER(TBS_Sign) by the signer ``cert``."""

    _fields = [
        ("toSign", TBS_Sign),
        ("cert", core.OctetString),
        ("signatureAlgID", core.ObjectIdentifier),
        ("signature", core.OctetBitString),
        ("timeStamp", core.OctetBitString, {"explicit": 0, "optional": True}),
    ]
