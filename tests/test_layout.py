"""The layout model: wrapping, fallback faces, alignment."""

from __future__ import annotations

from docgen.kinds import load_kind
from docgen.layout import TextItem, build_layout
from docgen.samples import sample_record
from docgen.validation import validate_record

from .conftest import AT, Issued


def text_items(issued: Issued) -> list[TextItem]:
    return [i for p in issued.rendered.layout.pages for i in p.items if isinstance(i, TextItem)]


def lines_of(item: TextItem) -> list[str]:
    lines: dict[float, str] = {}
    for run in item.runs:
        lines[run.baseline] = lines.get(run.baseline, "") + run.text
    return list(lines.values())


def test_wrapped_lines_never_start_with_closing_punctuation(each: Issued) -> None:
    wrapped = [i for i in text_items(each) if len(lines_of(i)) > 1]
    for item in wrapped:
        lines = lines_of(item)
        assert "".join(lines) == item.text
        for line in lines[1:]:
            assert line[0] not in "，。、；：？！）》", (item.id, lines)


def test_wrapping_moves_the_character_before_a_comma_down() -> None:
    record = sample_record("special-ops")
    cert = validate_record(load_kind("special-ops"), record, AT)
    layout = build_layout(cert)
    notes = next(i for i in layout.pages[2].items if i.id == "printout-notes")
    assert isinstance(notes, TextItem)
    lines = lines_of(notes)
    assert len(lines) >= 2 and all(line[0] != "，" for line in lines)


def test_each_character_is_drawn_by_the_first_face_that_has_it(issued: dict[str, Issued]) -> None:
    name_item = next(i for i in text_items(issued["special-ops"]) if i.id == "name")
    faces = [(run.text, run.face.key) for run in name_item.runs]
    assert faces == [("张", "wqy"), ("𠈌", "hanamina")]


def test_distributed_labels_span_their_box(issued: dict[str, Issued]) -> None:
    label = next(i for i in text_items(issued["skill"]) if i.id == "label:证件号码")
    run = label.runs[0]
    assert run.x == label.box.x
    end = run.x + sum(run.advances[:-1]) + run.face.advance(run.text[-1]) * run.size
    assert abs(end - (label.box.x + label.box.w)) < 1e-6
