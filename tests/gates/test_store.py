"""The stores' own arithmetic, in the order settlements really arrive.

A batch commits its grants and settles them after its commit; another batch (or a single request)
may be refused by the database in between and settle its "exhausted" answer first. The database's
answer already counts the grants committed before it, so they must not be taken off it again when
their settlements arrive late: the gate would then refuse taps the database still grants.
"""

import redis

from kinsave.gates.store import Seed
from tests.conftest import REDIS_URL

NOW = 1_000


def _seeded(store, tag: str, seed: Seed) -> str:
    (admission,) = store.admit([(tag, ["nobody"])], NOW)
    assert admission.gen is None  # not seeded yet
    assert store.install(tag, admission.epoch, "g1", seed)
    return "g1"


def _verdict(store, tag: str, member: str) -> str:
    (admission,) = store.admit([(tag, [member])], NOW)
    return admission.verdicts[0]


def test_a_grant_settled_after_a_sold_out_answer_is_not_counted_twice(store) -> None:
    backend = store.gates().coupon.store
    tag = "tpl:late-settle"
    gen = _seeded(backend, tag, Seed(left=3, limit=1))
    (admission,) = backend.admit([(tag, ["a", "b", "c"])], NOW)
    assert admission.verdicts == ("reserved", "reserved", "reserved")
    # The three grants commit; a tap that passed meanwhile is refused sold out and settles first.
    backend.settle([(tag, gen, [("d", False, "x", 1, 0)])])
    backend.settle([(tag, gen, [(m, True, "g", 1, 0) for m in ("a", "b", "c")])])
    assert _verdict(backend, tag, "e") == "exhausted"
    assert _count(store, tag) in (None, 0)  # never below what the database holds


def test_a_daily_budget_is_never_refused_while_the_database_still_pays(store) -> None:
    backend = store.gates().daily.store
    tag = "camp:late-settle"
    gen = _seeded(backend, tag, Seed(left=250, lo=10, hi=100, mode="until"))
    # Two claims of 95 and 60 commit (95 left); a third draws 99, is refused, and settles first.
    backend.settle([(tag, gen, [("c", False, "x", 0, 0)])])
    backend.settle([(tag, gen, [("a", False, "g", 95, 2_000), ("b", False, "g", 60, 2_000)])])
    # 95 is left in the database: a draw of 10 to 100 may still be paid, so the database decides.
    assert _verdict(backend, tag, "d") == "pass"
    # Once the database's 95 is spent below the smallest draw, the gate refuses by itself.
    backend.settle([(tag, gen, [("d", False, "g", 90, 2_000)])])
    assert _verdict(backend, tag, "e") == "exhausted"


def _count(store, tag: str) -> int | None:
    """The `left` a Redis store holds for the target (None on the memory store)."""
    if store.kind != "redis":
        return None
    value = redis.Redis.from_url(REDIS_URL).hget(f"{{{tag}}}:s", "left")
    return None if value is None else int(value)
