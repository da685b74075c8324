"""The page's words in Chinese (first) and English."""

from __future__ import annotations

__all__ = ["LANGUAGES", "STEPS", "TEXT", "words"]

LANGUAGES = ("zh", "en")

TEXT: dict[str, dict[str, str]] = {
    "title": {"zh": "电子证书核验", "en": "Certificate verification"},
    "intro": {
        "zh": "上传证书文件（OFD、PDF）、扫描件或照片，或输入证书编号，"
        "即可核验真伪、状态和签名数据。",
        "en": "Upload a certificate file (OFD, PDF), a scan or a photo, or type its number, to "
        "learn whether it is authentic, its status and the signed data.",
    },
    "upload": {"zh": "上传文件或照片", "en": "Upload a file or photo"},
    "upload_hint": {
        "zh": "OFD、PDF、JPEG、PNG，最大 20 MB；手机可直接拍照",
        "en": "OFD, PDF, JPEG or PNG, up to 20 MB; on a phone you can take a photo",
    },
    "number": {"zh": "证书编号", "en": "Certificate number"},
    "qr_text": {"zh": "或粘贴二维码内容", "en": "or paste the QR code's text"},
    "check": {"zh": "核验", "en": "Check"},
    "camera": {"zh": "扫码核验（不上传）", "en": "Scan with the camera (nothing uploaded)"},
    "camera_hint": {
        "zh": "在本机用可信名单核验二维码签名，证书数据不离开手机。",
        "en": "The QR signature is checked on this device against the trust list; nothing "
        "leaves the phone.",
    },
    "stop": {"zh": "停止", "en": "Stop"},
    "server_check": {"zh": "再由服务器核验", "en": "Check on the server too"},
    "authentic_valid": {"zh": "真实有效", "en": "Authentic and valid"},
    "invalid": {"zh": "无效", "en": "Not valid"},
    "cannot": {"zh": "无法核验", "en": "Cannot be verified"},
    "authentic_not_valid": {
        "zh": "证书真实，但当前无效",
        "en": "The certificate is authentic but not valid now",
    },
    "not_authentic": {"zh": "证书不真实或已被篡改", "en": "Not authentic, or altered"},
    "checks": {"zh": "核验项目", "en": "Checks"},
    "signed_data": {"zh": "签名数据", "en": "Signed data"},
    "compare": {
        "zh": "请将以下签名数据和照片与纸质或屏幕上的证书逐项核对：不一致即为伪造。",
        "en": "Compare the signed data and photo below with what is printed: any difference "
        "means a forgery.",
    },
    "registry_status": {"zh": "登记状态", "en": "Registry status"},
    "annotation": {"zh": "加注", "en": "Annotation (加注)"},
    "annotation_window": {"zh": "加注有效期", "en": "Annotation window"},
    "photo": {"zh": "登记照片", "en": "Registered photo"},
    "again": {"zh": "核验另一份", "en": "Check another"},
    "not_found": {"zh": "登记库中没有该证书", "en": "No such certificate in the registry"},
    "status_of": {"zh": "证书状态", "en": "Certificate status"},
    "valid_now": {"zh": "有效", "en": "Valid"},
    "failed": {"zh": "未通过", "en": "failed"},
    "detail": {"zh": "详情", "en": "detail"},
    "kind": {"zh": "证书种类", "en": "Kind"},
    "holder": {"zh": "持证人", "en": "Holder"},
    "id_number": {"zh": "证件号码", "en": "ID number"},
    "cert_number": {"zh": "证书编号", "en": "Number"},
    "version": {"zh": "版本", "en": "Version"},
    "issued": {"zh": "发证日期", "en": "Issued"},
    "valid_from": {"zh": "有效期起", "en": "Valid from"},
    "valid_to": {"zh": "有效期至", "en": "Valid to"},
    "review": {"zh": "应复审日期", "en": "Review due"},
    "issuer": {"zh": "发证机构", "en": "Issuer"},
    "switch": {"zh": "English", "en": "中文"},
    "error": {"zh": "无法处理", "en": "Cannot process"},
    "offline_ok": {"zh": "二维码签名有效（本机核验）", "en": "QR signature valid (checked here)"},
    "offline_bad": {"zh": "二维码签名无效", "en": "QR signature not valid"},
}

#: Plain-language names of the verification steps.
STEPS: dict[str, dict[str, str]] = {
    "format": {"zh": "文件格式", "en": "File format"},
    "signature": {"zh": "电子签章与签名", "en": "Seal and signature"},
    "qr": {"zh": "二维码签名", "en": "QR code signature"},
    "consistency": {"zh": "内容一致性", "en": "Consistency"},
    "annotation": {"zh": "加注", "en": "Annotation"},
    "validity": {"zh": "有效期", "en": "Validity"},
    "status": {"zh": "登记状态", "en": "Registry status"},
}


def words(lang: str) -> dict[str, str]:
    """Every word of the page in ``lang`` (zh or en)."""
    return {key: value[lang] for key, value in TEXT.items()}
