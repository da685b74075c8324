"""A results file and its photos to try ``docgen batch`` on (``docgen sample-batch``).

Every row is valid and eligible; candidates are made up (ID numbers with a correct check
character, synthetic photos), spread over a few applying units. Deterministic for a seed.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from PIL import Image
from stdnum.cn import ric

from ..kinds import load_kind, load_table
from ..samples import sample_photo_png
from .results import columns_of

__all__ = ["sample_rows", "write_sample_batch"]

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶"
    "程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕飞鹏辉建国志宏峰文博宇"
    "浩然子轩欣怡晨阳思远佳琪梓涵一鸣雨泽"
)
_AREAS = ["110101", "310104", "320102", "330106", "370202", "420106", "440303", "510107"]
_UNITS = [
    "中建八局第一建设有限公司",
    "江苏省应急救援总队",
    "山东港口青岛港集团",
    "深圳市地铁集团有限公司",
    "上海化学工业区应急响应中心",
    "浙江交通集团",
    "四川省消防救援总队培训基地",
    "北京城建集团",
]


def _id_number(rng: random.Random) -> str:
    birth = date(1991, 1, 1) + timedelta(days=rng.randrange(365 * 13))
    body = f"{rng.choice(_AREAS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ric.calc_check_digit(body + "0")


def _photo_jpeg() -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(sample_photo_png())).convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def _scores(kind: str, rng: random.Random, day: date) -> dict[str, Any]:
    def high(low: float = 60) -> float:
        return round(rng.uniform(low, 98), 1)

    if kind == "rescuer":
        return {"theory_score": high(), "skill_mandatory_score": high(62),
                "skill_drawn_score": high(62)}  # fmt: skip
    if kind == "skill":
        return {"theory_score": high(), "skill_score": high()}
    if kind in {"special-ops", "safety-manager"}:
        theory = day - timedelta(days=rng.randrange(40, 200))
        return {"theory_score": high(80), "theory_date": theory.isoformat(),
                "practical_score": high(80),
                "practical_date": (theory + timedelta(days=14)).isoformat()}  # fmt: skip
    years = [day.year - 1 - rng.randrange(3) for _ in range(4)]
    names = ["law", "management", "technology", "practice"]
    row: dict[str, Any] = {}
    for name, year in zip(names, years, strict=True):
        row[f"{name}_score"], row[f"{name}_year"] = high(), year
    return row


def _fields(kind: str, rng: random.Random, day: date) -> dict[str, Any]:
    if kind == "rescuer":
        return {"level": "五级/初级工"}
    if kind == "skill":
        return {"occupation": "电工", "work_type": "维修电工", "level": "四级/中级工"}
    if kind == "safety-engineer":
        spec = load_kind(kind).field("category")
        approval = day - timedelta(days=rng.randrange(10, 60))
        return {"category": rng.choice(spec.choices), "approval_date": approval.isoformat()}
    table = load_table("special_ops")
    first = (day - timedelta(days=rng.randrange(1, 30))).isoformat()
    if kind == "special-ops":
        category = rng.choice(list(table["items"]))
        return {"category": category, "item": rng.choice(table["items"][category]),
                "first_issue_date": first}  # fmt: skip
    return {"person_type": rng.choice(table["person_types"]),
            "industry": rng.choice(table["industries"]), "first_issue_date": first}  # fmt: skip


def sample_rows(kind: str, count: int, day: date, seed: int = 0) -> list[dict[str, Any]]:
    """``count`` valid, eligible rows of ``kind`` (keys are column keys)."""
    rng = random.Random(seed)
    site = "S000037000101"
    rows: list[dict[str, Any]] = []
    ids: set[str] = set()
    while len(rows) < count:
        id_number = _id_number(rng)
        if id_number in ids:
            continue
        ids.add(id_number)
        row: dict[str, Any] = {
            "name": rng.choice(_SURNAMES) + "".join(rng.sample(_GIVEN, rng.choice((1, 2)))),
            "id_number": id_number,
            "unit": _UNITS[len(rows) % len(_UNITS)],
            **_fields(kind, rng, day),
            **_scores(kind, rng, day),
        }
        if "{site_code}" in load_kind(kind).number.allocate:
            row["site_code"] = site
        rows.append(row)
    return rows


def _spoil(kind: str, rows: list[dict[str, Any]], bad: int) -> set[str]:
    """Make ``bad`` of the rows fail, in turn: a wrong ID check character, a score below the
    pass mark, no photo, the candidate of an earlier row again. Returns the ID numbers that
    get no photo."""
    no_photo: set[str] = set()
    score = next(k for k in rows[0] if k.endswith("_score"))
    step = max(1, len(rows) // (bad + 1))
    for n in range(bad):
        row = rows[(n + 1) * step % len(rows)]
        defect = n % 4
        if defect == 0:
            last = row["id_number"][-1]
            row["id_number"] = row["id_number"][:-1] + ("1" if last == "0" else "0")
        elif defect == 1:
            row[score] = 59.0 if kind in {"rescuer", "skill", "safety-engineer"} else 79.0
        elif defect == 2:
            no_photo.add(row["id_number"])
        else:
            rows.append({**rows[0], "name": rows[0]["name"][:1] + "某"})
    return no_photo


def write_sample_batch(
    kind: str,
    count: int,
    out_dir: Path,
    day: date,
    *,
    seed: int = 0,
    xlsx: bool = False,
    photos_zip: bool = False,
    bad: int = 0,
) -> tuple[Path, Path]:
    """Write ``results.csv`` (or ``.xlsx``) with Chinese headers and the photos (a folder
    ``photos/`` or ``photos.zip``, one ``<ID number>.jpg`` each); returns both paths. With
    ``bad``, that many of the ``count`` rows are made to be rejected (see :func:`_spoil`)."""
    spec = load_kind(kind)
    headers = {c.key: c.headers[0] for c in columns_of(spec)}
    rows = sample_rows(kind, count - sum(1 for n in range(bad) if n % 4 == 3), day, seed)
    no_photo = _spoil(kind, rows, bad) if bad else set()
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    out_dir.mkdir(parents=True, exist_ok=True)
    titles = ["序号"] + [headers[k] for k in keys]
    if xlsx:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("成绩")
        sheet.append(titles)
        for index, row in enumerate(rows, 1):
            sheet.append([index] + [row.get(k, "") for k in keys])
        results = out_dir / "results.xlsx"
        book.save(results)
    else:
        results = out_dir / "results.csv"
        with results.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(titles)
            for index, row in enumerate(rows, 1):
                writer.writerow([index] + [row.get(k, "") for k in keys])
    photo = _photo_jpeg()
    if photos_zip:
        photos = out_dir / "photos.zip"
        with zipfile.ZipFile(photos, "w", zipfile.ZIP_STORED) as archive:
            for row in rows:
                if row["id_number"] not in no_photo:
                    archive.writestr(f"photos/{row['id_number']}.jpg", photo)
    else:
        photos = out_dir / "photos"
        photos.mkdir(exist_ok=True)
        for row in rows:
            if row["id_number"] not in no_photo:
                (photos / f"{row['id_number']}.jpg").write_bytes(photo)
    return results, photos
