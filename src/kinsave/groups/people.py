"""Who a batch of joins meets: the names and identity marks of its joiners and of its groups'
members, read once per batch (auth's names, sharing's identity marks) rather than twice per
join: a join then costs its seat and its membership row. A member seated by another
transaction after the batch read them is read when a join meets them.

The self-join rule lives here too: a second account of a member (the same device, or host
identity, as sharing events and the members' own joins recorded them) cannot fill the group,
the referral rule reused.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.errors import KinsaveError
from kinsave.sharing import attribution


class Member(Protocol):
    """A membership as a join read it (joining.Membership)."""

    @property
    def shopper_id(self) -> str: ...

    @property
    def device_hash(self) -> str | None: ...


@dataclass
class People:
    """Names and identity marks by shopper, of everyone met so far."""

    names: dict[str, str] = field(default_factory=dict)
    marks: dict[str, set[str]] = field(default_factory=dict)

    def meet(self, session: Session, shopper_ids: Iterable[str]) -> None:
        """Read the names and marks of those not met yet."""
        missing = sorted({s for s in shopper_ids if s not in self.marks})
        if missing:
            self.names |= auth.display_names(session, missing)
            self.marks |= attribution.identity_marks(session, missing)

    def refuse_self_join(
        self,
        session: Session,
        members: Sequence[Member],
        shopper_id: str,
        device_hash: str | None,
    ) -> None:
        """Errors: group_self_join when the joiner shares a mark with another member."""
        others = [m.shopper_id for m in members if m.shopper_id != shopper_id]
        self.meet(session, [*others, shopper_id])
        marks = {s: set(self.marks[s]) for s in [*others, shopper_id]}
        for member in members:
            if member.device_hash:
                marks[member.shopper_id].add("d:" + member.device_hash)
        mine = marks[shopper_id] | ({"d:" + device_hash} if device_hash else set())
        if any(mine & marks[other] for other in others):
            raise KinsaveError("group_self_join", "a member of this group uses the same device")
