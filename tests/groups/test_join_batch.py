"""Joins committed together (joining.join_groups, the group-join batcher's batch function): each
join answered as it would be alone, and a join refused after its seat leaves nothing."""

import threading
import time

import pytest
from sqlalchemy import select, text

from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError
from kinsave.groups import joining, starting
from kinsave.groups.joining import JoinRequest
from kinsave.groups.models import DealGroup, GroupMember
from tests.groups.factories import create_deal, make_shop
from tests.groups.test_group_storms import add_shoppers, invariants


def answers(outcomes: list[object]) -> list[str]:
    return [o.code if isinstance(o, KinsaveError) else o.status for o in outcomes]  # type: ignore[attr-defined]


def seats(session_factory, group_id: str) -> tuple[int, str, list[str]]:
    with unit_of_work(session_factory) as session:
        group = session.get(DealGroup, group_id)
        assert group is not None
        members = session.scalars(
            select(GroupMember.shopper_id)
            .where(GroupMember.group_id == group_id)
            .order_by(GroupMember.position)
        )
        return group.members, group.status, list(members)


class TestJoinBatch:
    def test_each_join_answered_as_alone(self, api, session_factory):
        deal = create_deal(api, make_shop(api, session_factory), group_size=3)["id"]
        add_shoppers(session_factory, ["s1", "s2", "a", "b", "c", "d"])
        with unit_of_work(session_factory) as session:
            groups = {starting.start_group(session, deal, s).id: s for s in ("s1", "s2")}
        # A batch runs its joins in group order: `first` is the group that sorts first.
        first, second = sorted(groups)
        batch = [
            JoinRequest(second, "d"),
            JoinRequest(first, "a"),
            JoinRequest(second, "a"),  # the same shopper, racing into a second group
            JoinRequest(first, "b"),  # fills the first group
            JoinRequest(first, "c"),  # one too many
            JoinRequest("grp_nope", "d"),
        ]
        with unit_of_work(session_factory) as session:
            outcomes = joining.join_groups(session, batch)
        assert answers(outcomes) == [
            "forming",
            "forming",
            "already_in_group",
            "succeeded",
            "group_full",
            "not_found",
        ]
        assert outcomes[3].my_coupon_id is not None  # type: ignore[union-attr]
        assert seats(session_factory, first) == (3, "succeeded", [groups[first], "a", "b"])
        assert seats(session_factory, second) == (2, "forming", [groups[second], "d"])
        counts = invariants(session_factory, deal)
        assert (counts["succeeded"], counts["coupons"]) == (1, 3)

    def test_a_join_refused_after_its_seat_leaves_nothing(self, api, session_factory, backend):
        if backend != "postgresql":
            pytest.skip("SQLite has one writer: no other transaction can race the seat")
        deal = create_deal(api, make_shop(api, session_factory), group_size=3)["id"]
        add_shoppers(session_factory, ["s1", "s2", "greedy", "other"])
        with unit_of_work(session_factory) as session:
            first = starting.start_group(session, deal, "s1").id
            second = starting.start_group(session, deal, "s2").id
        # Another transaction seats `greedy` in the first group and holds its commit while the
        # batch seats `greedy` in the second: the batch's membership row waits for it, then
        # finds the deal's open slot taken, and the batch gives the seat back.
        seated, release = threading.Event(), threading.Event()

        def other_transaction() -> None:
            with unit_of_work(session_factory) as session:
                joining.join_group(session, first, "greedy")
                seated.set()
                release.wait(10)

        racer = threading.Thread(target=other_transaction)
        racer.start()
        assert seated.wait(10)
        outcome: list[object] = []
        batch = threading.Thread(
            target=lambda: outcome.extend(self._batch(session_factory, second))
        )
        batch.start()
        waiting = self._wait_for_lock(session_factory)
        release.set()
        racer.join(10)
        batch.join(10)
        assert answers(outcome) == ["already_in_group", "forming"]
        assert seats(session_factory, second) == (2, "forming", ["s2", "other"])
        assert seats(session_factory, first) == (2, "forming", ["s1", "greedy"])
        invariants(session_factory, deal)
        assert waiting  # the batch did take the seat first, and gave it back

    def _wait_for_lock(self, session_factory) -> bool:
        """Until the batch's membership row waits for the racer's (or 10 s)."""
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query ILIKE 'INSERT INTO group_member%'"
        )
        for _attempt in range(200):
            with unit_of_work(session_factory) as session:
                if session.execute(waiting).scalar():
                    return True
            time.sleep(0.05)
        return False

    def _batch(self, session_factory, group_id: str) -> list[object]:
        with unit_of_work(session_factory) as session:
            return list(
                joining.join_groups(
                    session, [JoinRequest(group_id, "greedy"), JoinRequest(group_id, "other")]
                )
            )
