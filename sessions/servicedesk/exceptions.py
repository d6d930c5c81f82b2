"""Service-desk errors: refinements of the shared domain errors with their own stable codes."""

from __future__ import annotations

from sessions.exceptions import ConflictError, InvalidStateError


class OfferExpiredError(InvalidStateError):
    """An offer answered after its timeout passed (or after it was withdrawn)."""

    code = "offer_expired"


class SurveyUsedError(ConflictError):
    """A one-time survey link that was already used."""

    code = "survey_used"


class SurveyExpiredError(InvalidStateError):
    """A survey link used after it lapsed."""

    code = "survey_expired"


class DeskElsewhereError(InvalidStateError):
    """The desk (routing, queue, offers) runs on another node of the cluster."""

    code = "desk_elsewhere"


class ProfileRejectedError(ConflictError):
    """A well-formed expert profile that the configured catalogue or the desk's rules refuse."""

    code = "profile_rejected"


class EndpointRejectedError(ConflictError):
    """A well-formed webhook endpoint that the desk's rules refuse."""

    code = "endpoint_rejected"
