"""Wire form of annotation commands: one pydantic model per kind, a union on ``kind``.

Coordinates are normalised to the video they were drawn on: ``(0, 0)`` is the top-left
corner, ``(1, 1)`` the bottom-right one, whatever the resolution. Line widths and font sizes
are fractions of the video's height, so a mark looks the same on a phone and on the server's
full-resolution still.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from sessions.exceptions import ValidationError

Unit = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
"""A coordinate normalised to the video, in [0, 1]."""

Point = tuple[Unit, Unit]
"""``(x, y)`` normalised to the video."""

Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
"""``#RRGGBB``."""

Width = Annotated[float, Field(gt=0.0, le=0.05, allow_inf_nan=False)]
"""Line width as a fraction of the video's height (0.005 is 3.6 px on a 720p frame)."""

MediaTime = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
"""Seconds on the producer's media clock (frame.pts * time_base) of the frame on screen."""

DEFAULT_COLOUR = "#ff3b30"
DEFAULT_WIDTH = 0.006


class _Command(BaseModel):
    """Fields shared by every command: reject unknown fields so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Drawn(_Command):
    """Fields of every command tied to a frame of one producer's video."""

    producer_id: str = Field(min_length=1, max_length=64)
    """The producer whose video the mark was drawn on."""
    media_time_s: MediaTime
    """Media time of the frame that was on screen when it was drawn."""


class Box(BaseModel):
    """An axis-aligned box in normalised coordinates; corners may come in any order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    x0: Unit
    """One corner, x."""
    y0: Unit
    """One corner, y."""
    x1: Unit
    """The opposite corner, x."""
    y1: Unit
    """The opposite corner, y."""

    def corners(self) -> list[tuple[float, float]]:
        """Return the two corners as points, top-left first."""
        return [
            (min(self.x0, self.x1), min(self.y0, self.y1)),
            (max(self.x0, self.x1), max(self.y0, self.y1)),
        ]


class Stroke(_Drawn):
    """A freehand line through ``points``."""

    kind: Literal["stroke"] = "stroke"
    points: list[Point] = Field(min_length=2)
    """The polyline, in drawing order."""
    colour: Colour = DEFAULT_COLOUR
    """Line colour."""
    width: Width = DEFAULT_WIDTH
    """Line width."""


class Arrow(_Drawn):
    """A straight arrow pointing at ``to``."""

    kind: Literal["arrow"] = "arrow"
    start: Point = Field(alias="from")
    """Tail of the arrow (``from`` on the wire)."""
    to: Point
    """Head of the arrow."""
    colour: Colour = DEFAULT_COLOUR
    """Line colour."""
    width: Width = DEFAULT_WIDTH
    """Line width."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Ellipse(_Drawn):
    """An ellipse inscribed in ``box``."""

    kind: Literal["ellipse"] = "ellipse"
    box: Box
    """The bounding box."""
    colour: Colour = DEFAULT_COLOUR
    """Line colour."""
    width: Width = DEFAULT_WIDTH
    """Line width."""


class Rectangle(_Drawn):
    """A rectangle outline."""

    kind: Literal["rectangle"] = "rectangle"
    box: Box
    """The rectangle."""
    colour: Colour = DEFAULT_COLOUR
    """Line colour."""
    width: Width = DEFAULT_WIDTH
    """Line width."""


class TextLabel(_Drawn):
    """A text label whose baseline starts at ``position``."""

    kind: Literal["text"] = "text"
    position: Point
    """Left end of the baseline."""
    text: str = Field(min_length=1)
    """What it says (the length limit is in Limits)."""
    font_size: float = Field(default=0.04, ge=0.01, le=0.2, allow_inf_nan=False)
    """Height of the letters as a fraction of the video's height."""
    colour: Colour = DEFAULT_COLOUR
    """Text colour."""


class Pointer(_Drawn):
    """The laser pointer: fanned out to the others, never stored."""

    kind: Literal["pointer"] = "pointer"
    position: Point | None
    """Where it points; ``None`` when the pointer leaves the video."""
    colour: Colour = DEFAULT_COLOUR
    """Dot colour."""


class Undo(_Command):
    """Remove a mark: the actor's own newest one, or ``mark_id``."""

    kind: Literal["undo"] = "undo"
    mark_id: str | None = None
    """The mark to remove; omitted means the actor's own newest mark."""


class Clear(_Command):
    """Remove several marks at once."""

    kind: Literal["clear"] = "clear"
    scope: Literal["mine", "all"] = "mine"
    """``mine``: the actor's own marks; ``all``: everyone's (needs can_moderate)."""
    producer_id: str | None = None
    """Only the marks on this producer's video; omitted means every video."""


class Freeze(_Command):
    """Freeze a producer's video on the frame at ``media_time_s`` for everyone."""

    kind: Literal["freeze"] = "freeze"
    producer_id: str = Field(min_length=1, max_length=64)
    """The producer to freeze."""
    media_time_s: MediaTime
    """Media time of the frame the expert saw when freezing."""


class Unfreeze(_Command):
    """Go back to the live video of a producer."""

    kind: Literal["unfreeze"] = "unfreeze"
    producer_id: str = Field(min_length=1, max_length=64)
    """The producer to unfreeze."""


class Pin(_Command):
    """Anchor a mark to the scene so that it follows the object under it."""

    kind: Literal["pin"] = "pin"
    mark_id: str
    """The mark to anchor."""
    region: Box | None = None
    """The scene region to follow; omitted means the mark's padded bounding box."""


class Unpin(_Command):
    """Stop following the scene; the mark stays where it was first drawn."""

    kind: Literal["unpin"] = "unpin"
    mark_id: str
    """The anchored mark."""


Shape = Stroke | Arrow | Ellipse | Rectangle | TextLabel
"""The kinds that become a stored mark."""

AnnotationCommand = Annotated[
    Stroke
    | Arrow
    | Ellipse
    | Rectangle
    | TextLabel
    | Pointer
    | Undo
    | Clear
    | Freeze
    | Unfreeze
    | Pin
    | Unpin,
    Field(discriminator="kind"),
]
"""Every command a participant can send, told apart by ``kind``."""

SHAPE_TYPES = (Stroke, Arrow, Ellipse, Rectangle, TextLabel)
KINDS = (
    "stroke",
    "arrow",
    "ellipse",
    "rectangle",
    "text",
    "pointer",
    "undo",
    "clear",
    "freeze",
    "unfreeze",
    "pin",
    "unpin",
)

_ADAPTER: TypeAdapter[AnnotationCommand] = TypeAdapter(AnnotationCommand)


def parse_command(data: Any) -> AnnotationCommand:
    """Validate one command from its JSON form; raise ValidationError with a readable message."""
    if not isinstance(data, dict):
        raise ValidationError("an annotation command must be a JSON object")
    kind = data.get("kind")
    if kind not in KINDS:
        raise ValidationError(
            f"unknown annotation kind {kind!r}; expected one of: {', '.join(KINDS)}", kind=kind
        )
    try:
        return _ADAPTER.validate_python(data)
    except PydanticValidationError as exc:
        raise ValidationError(f"invalid {kind}: {_describe(exc)}", kind=kind) from None


def _describe(exc: PydanticValidationError) -> str:
    """Turn pydantic's errors into one line such as ``points.3.0: must be <= 1``."""
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        # The first location item is the union tag; it only repeats the kind.
        loc = ".".join(str(item) for item in error["loc"][1:]) or "command"
        parts.append(f"{loc}: {error['msg']}")
    return "; ".join(parts)
