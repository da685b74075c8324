"""Make a GB/T 38540 v4 electronic seal (SESeal), signed by the seal maker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..gm import OID_SM3_WITH_SM2
from ..ses.v4 import CERT_LIST_CERTS, VERSION, CertInfoList, SES_SealInfo, SESeal, seal_to_be_signed
from .sm2 import SM2PrivateKey

__all__ = ["SEAL_TYPE_UNIT", "SEAL_VENDOR_ID", "SealSpec", "make_seal"]

#: ``SES_ESPropertyInfo.type`` of an organisation's seal.
SEAL_TYPE_UNIT = 1
#: ``SES_Header.Vid``: who made the seal software.
SEAL_VENDOR_ID = "docgen"


@dataclass(frozen=True)
class SealSpec:
    """What a seal says: its id, name, picture, size, validity, allowed signer certificates."""

    es_id: str
    name: str
    picture_png: bytes
    width_mm: int
    height_mm: int
    signer_certs: tuple[bytes, ...]
    created: datetime
    valid_start: datetime
    valid_end: datetime


def make_seal(spec: SealSpec, maker_key: SM2PrivateKey, maker_cert: bytes) -> bytes:
    """DER of an SESeal for ``spec``, signed with SM3withSM2 by the seal maker."""
    info = SES_SealInfo(
        {
            "header": {"ID": "ES", "version": VERSION, "Vid": SEAL_VENDOR_ID},
            "esID": spec.es_id,
            "property": {
                "type": SEAL_TYPE_UNIT,
                "name": spec.name,
                "certListType": CERT_LIST_CERTS,
                "certList": CertInfoList(list(spec.signer_certs)),
                "createDate": spec.created,
                "validStart": spec.valid_start,
                "validEnd": spec.valid_end,
            },
            "picture": {
                "type": "png",
                "data": spec.picture_png,
                "width": spec.width_mm,
                "height": spec.height_mm,
            },
        }
    )
    signed = maker_key.sign(seal_to_be_signed(info))
    seal = SESeal(
        {
            "eSealInfo": info,
            "cert": maker_cert,
            "signAlgID": OID_SM3_WITH_SM2,
            "signedValue": signed,
        }
    )
    return bytes(seal.dump())
