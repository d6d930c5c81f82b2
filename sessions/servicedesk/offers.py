"""An offer of one ticket to one expert, with its own small state machine and timeout."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sessions.exceptions import InvalidStateError, PermissionDeniedError
from sessions.ids import new_id
from sessions.servicedesk.exceptions import OfferExpiredError

logger = logging.getLogger(__name__)


class OfferState(StrEnum):
    """Where an offer is."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


@dataclass(slots=True)
class Offer:
    """A ticket offered to an expert until ``expires_at``."""

    ticket_id: str
    """The ticket offered."""
    expert: str
    """The expert it is offered to."""
    made_at: datetime
    """When it was made."""
    expires_at: datetime
    """After this instant it can no longer be accepted."""
    id: str = field(default_factory=lambda: new_id("ofr"))
    """``ofr_...``."""
    state: OfferState = OfferState.PENDING
    """Current state."""

    def _set_state(self, state: OfferState) -> None:
        if state is not self.state:
            logger.info("offer %s: %s -> %s", self.id, self.state.value, state.value)
            self.state = state

    def check_answerable(self, expert: str, now: datetime) -> None:
        """Raise unless ``expert`` may still answer this offer at ``now``."""
        if expert != self.expert:
            raise PermissionDeniedError(f"offer {self.id} was made to another expert")
        if self.state is OfferState.PENDING and now >= self.expires_at:
            self._set_state(OfferState.EXPIRED)
        if self.state in (OfferState.EXPIRED, OfferState.WITHDRAWN):
            raise OfferExpiredError(
                f"offer {self.id} is {self.state.value} (it expired at "
                f"{self.expires_at.isoformat()}); the ticket went to the next expert",
                offer_id=self.id,
                expires_at=self.expires_at.isoformat(),
            )
        if self.state is not OfferState.PENDING:
            raise InvalidStateError(f"offer {self.id} was already {self.state.value}")

    def accept(self, expert: str, now: datetime) -> None:
        """Accept the offer."""
        self.check_answerable(expert, now)
        self._set_state(OfferState.ACCEPTED)

    def decline(self, expert: str, now: datetime) -> None:
        """Decline the offer."""
        self.check_answerable(expert, now)
        self._set_state(OfferState.DECLINED)

    def expire(self, now: datetime) -> bool:
        """Expire a pending offer whose time is up; tell whether it did."""
        if self.state is OfferState.PENDING and now >= self.expires_at:
            self._set_state(OfferState.EXPIRED)
            return True
        return False

    def withdraw(self) -> bool:
        """Withdraw a pending offer (ticket assigned elsewhere, expert left); tell if it was."""
        if self.state is OfferState.PENDING:
            self._set_state(OfferState.WITHDRAWN)
            return True
        return False
