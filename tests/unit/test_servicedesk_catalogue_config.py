"""The ``[desk_catalogue]`` table: parsed into a Catalogue, mistakes named at start-up."""

from __future__ import annotations

from typing import Any

import pytest

from sessions.exceptions import ValidationError
from sessions.servicedesk.catalogue import (
    DEFAULT_CATALOGUE,
    EXERCISE_THERAPY,
    catalogue_from_config,
)


def test_empty_table_gives_the_demo_catalogue() -> None:
    """No table configured: the demo catalogue."""
    assert catalogue_from_config({}) is DEFAULT_CATALOGUE


def test_table_becomes_the_catalogue() -> None:
    """Models with categories, languages, and exercise therapy by default."""
    catalogue = catalogue_from_config(
        {"models": {"Pump X": "infusion_pump"}, "languages": ["en", "zh-CN"]}
    )
    assert catalogue.skills == {"Pump X", "infusion_pump", EXERCISE_THERAPY}
    assert catalogue.check_languages(["zh-CN"]) == {"zh-CN"}
    with pytest.raises(ValidationError, match="unknown skills: Alaris GP"):
        catalogue.check_skills(["Alaris GP"])


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"modles": {}}, "unknown keys"),
        ({"models": ["Pump X"]}, "models must map"),
        ({"models": {"Pump X": 3}}, "models must map"),
        ({"languages": "en"}, "languages must be a list"),
        ({"languages": ["en"], "extra_skills": "x"}, "extra_skills must be a list"),
    ],
)
def test_mistakes_are_named(table: dict[str, Any], message: str) -> None:
    """A wrong table is refused with what is wrong."""
    with pytest.raises(ValidationError, match=message):
        catalogue_from_config(table)
