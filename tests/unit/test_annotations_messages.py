"""Wire models of annotation commands: parsing, aliases, and the errors bad input gets."""

from __future__ import annotations

from typing import Any

import pytest

from annotations.messages import Arrow, Box, Clear, Pointer, Stroke, TextLabel, parse_command
from sessions.exceptions import ValidationError


def drawn(kind: str, **fields: Any) -> dict[str, Any]:
    """Return a command dict with the fields every drawn command needs."""
    return {"kind": kind, "producer_id": "prd_cam", "media_time_s": 1.5, **fields}


def test_stroke_parses_with_defaults() -> None:
    command = parse_command(drawn("stroke", points=[[0.1, 0.2], [0.3, 0.4]]))
    assert isinstance(command, Stroke)
    assert command.points == [(0.1, 0.2), (0.3, 0.4)]
    assert command.colour == "#ff3b30"
    assert command.producer_id == "prd_cam"
    assert command.media_time_s == 1.5


def test_arrow_uses_from_on_the_wire_both_ways() -> None:
    command = parse_command(drawn("arrow", **{"from": [0.1, 0.1], "to": [0.9, 0.9]}))
    assert isinstance(command, Arrow)
    assert command.start == (0.1, 0.1)
    assert command.model_dump(mode="json", by_alias=True)["from"] == [0.1, 0.1]


def test_box_corners_come_out_ordered() -> None:
    box = Box(x0=0.8, y0=0.7, x1=0.2, y1=0.1)
    assert box.corners() == [(0.2, 0.1), (0.8, 0.7)]


def test_pointer_may_leave_the_video() -> None:
    command = parse_command(drawn("pointer", position=None))
    assert isinstance(command, Pointer)
    assert command.position is None


def test_clear_defaults_to_own_marks() -> None:
    command = parse_command({"kind": "clear"})
    assert isinstance(command, Clear)
    assert command.scope == "mine"


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ValidationError, match=r"unknown annotation kind 'spray'.*stroke"):
        parse_command(drawn("spray"))


def test_missing_kind_is_rejected() -> None:
    with pytest.raises(ValidationError, match="unknown annotation kind None"):
        parse_command({"points": []})


def test_non_object_is_rejected() -> None:
    with pytest.raises(ValidationError, match="JSON object"):
        parse_command(["stroke"])


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"points": [[0.1, 0.1], [1.2, 0.5]]}, "points.1.0"),
        ({"points": [[0.1, 0.1], [0.5, -0.01]]}, "points.1.1"),
        ({"points": [[0.1, 0.1], [float("nan"), 0.5]]}, "points.1.0"),
        ({"points": [[0.1, 0.1]]}, "points"),
        ({"points": [[0.1, 0.1], [0.2, 0.2]], "colour": "red"}, "colour"),
        ({"points": [[0.1, 0.1], [0.2, 0.2]], "width": 0.5}, "width"),
        ({"points": [[0.1, 0.1], [0.2, 0.2]], "size": 3}, "size"),
    ],
)
def test_bad_stroke_says_which_field(fields: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError, match=rf"invalid stroke: {where}\b"):
        parse_command(drawn("stroke", **fields))


def test_negative_media_time_is_rejected() -> None:
    data = drawn("text", position=[0.5, 0.5], text="here")
    data["media_time_s"] = -1
    with pytest.raises(ValidationError, match="media_time_s"):
        parse_command(data)


def test_text_label_round_trips_through_json() -> None:
    data = drawn("text", position=[0.5, 0.5], text="check this connector", font_size=0.05)
    command = parse_command(data)
    assert isinstance(command, TextLabel)
    assert parse_command(command.model_dump(mode="json", by_alias=True)) == command
