"""The configured catalogue of skills and languages that expert profiles are checked against."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sessions.exceptions import ValidationError
from sessions.tickets import Ticket, TicketKind

#: The one skill that is not about a device: guiding patients through their exercises.
EXERCISE_THERAPY = "exercise_therapy"


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Known device models (with their category) and languages; everything else is refused."""

    models: Mapping[str, str]
    """Device model name -> device category, e.g. ``RehaMove 3 -> fes_cycle``."""
    languages: frozenset[str]
    """BCP 47 tags the desk serves, e.g. ``en``, ``zh-CN``."""
    extra_skills: frozenset[str] = field(default_factory=lambda: frozenset({EXERCISE_THERAPY}))
    """Skills that are neither a model nor a category."""

    @property
    def skills(self) -> frozenset[str]:
        """Every skill an expert may hold: models, categories and the extra skills."""
        return frozenset(self.models) | frozenset(self.models.values()) | self.extra_skills

    def check_skills(self, skills: Iterable[str]) -> frozenset[str]:
        """Return the skills as a set, or raise ValidationError naming the unknown ones."""
        wanted = frozenset(skills)
        unknown = sorted(wanted - self.skills)
        if unknown:
            raise ValidationError(f"unknown skills: {', '.join(unknown)}", unknown=unknown)
        return wanted

    def check_languages(self, languages: Iterable[str]) -> frozenset[str]:
        """Return the languages as a set, or raise ValidationError naming the unknown ones."""
        wanted = frozenset(languages)
        unknown = sorted(wanted - self.languages)
        if unknown:
            raise ValidationError(f"unknown languages: {', '.join(unknown)}", unknown=unknown)
        return wanted

    def skill_options(self, ticket: Ticket) -> list[frozenset[str]]:
        """The skill sets of which an expert needs at least one element each to take the ticket.

        A device ticket is served by whoever knows the model or, more broadly, its category;
        an exercise ticket additionally needs exercise therapy.
        """
        needs: list[frozenset[str]] = []
        if ticket.device is not None:
            model = ticket.device.model
            category = self.models.get(model)
            needs.append(frozenset({model, category}) if category else frozenset({model}))
        if ticket.kind is TicketKind.GUIDED_EXERCISE:
            needs.append(frozenset({EXERCISE_THERAPY}))
        return needs


DEFAULT_CATALOGUE = Catalogue(
    models={
        "RehaMove 3": "fes_cycle",
        "MOTOmed viva2": "motor_trainer",
        "Lokomat Pro": "gait_robot",
        "Alaris GP": "infusion_pump",
        "Philips V60": "ventilator",
    },
    languages=frozenset({"en", "zh-CN", "de", "fr", "es"}),
)
"""A small catalogue for the demo and the tests; deployments configure their own."""


def catalogue_from_config(table: Mapping[str, Any]) -> Catalogue:
    """The catalogue of a ``[desk_catalogue]`` TOML table; an empty table gives the demo one."""
    if not table:
        return DEFAULT_CATALOGUE
    unknown = sorted(set(table) - {"models", "languages", "extra_skills"})
    if unknown:
        raise ValidationError(f"desk_catalogue: unknown keys {unknown}")
    models, languages = table.get("models", {}), table.get("languages", [])
    if not isinstance(models, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in models.items()
    ):
        raise ValidationError("desk_catalogue.models must map model names to categories")
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise ValidationError("desk_catalogue.languages must be a list of BCP 47 tags")
    extra = table.get("extra_skills", [EXERCISE_THERAPY])
    if not isinstance(extra, list) or not all(isinstance(x, str) for x in extra):
        raise ValidationError("desk_catalogue.extra_skills must be a list of names")
    return Catalogue(dict(models), frozenset(languages), frozenset(extra))
