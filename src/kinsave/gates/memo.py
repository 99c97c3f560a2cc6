"""The final exhaustion of a target, known in this API process: a shop envelope is tapped by
thousands after its last share went (29 taps in 30 of shop-envelope are `envelope_empty`), and
each of them cost a Redis round trip on the event loop (docs/benchmarks.md, session 11). Once
the gate's store says a target is finally exhausted, the front door answers its taps here, as
the admission script (`_ADMIT` in gates/store.py) would: a holder `already`, anyone else
`exhausted`; from the target's `until` on, nothing (the script passes every tap: asked again).

Only for kinds whose exhaustion is final (`Spec.exhaustion_is_final`): an envelope's grabbed
shares never come back and it closes only at its `expires_at` (the `until`). Not coupons or
daily budgets: another process may raise a template's stock or top a budget up (a `forget`
this process would not hear of).

Why it is exact with several API processes on one Redis. The script reports `final` only when
`left` itself (not `cap`, the bound the database's own refusals lower) is below `lo`, no unit is
reserved (`inflight` 0) and no member has a tap in flight (`<tag>:p` empty). `left` starts at
the open units the seed read from the database and drops only by a grant settled after its
commit, and each settled grant adds its member to `<tag>:h` in the same script; the seed put
every earlier holder there. So `left` below `lo` means every open unit's grant is committed and
settled: `<tag>:h` holds every holder the database has, and no new one can come (no unit is
open; a tap is reserved only while `left - inflight >= hi`, never again in this generation).
With nothing in flight no member gets the script's `pass` for a tap of its own still out: from
then on the script answers every tap before `until` from `<tag>:h` alone, and so does the memo.
The holders are read by `HOLDERS_SCRIPT` (one extra round trip per target per process), which
checks the same condition under the same generation atomically.

What could make it stale: a flush, restart or TTL expiry of the Redis keys reseeds the target
under a new generation from the database, whose holders are the same (final); a `forget` in
this process drops the memo after the store took it (`Gate._forget_pending`), and a memo
fetched across a forget is not kept (`version`). A forget in another process can not change a
final target's answers before `until`: none of the envelope's truths it stands for (shares,
holders, status) can move, which is what `exhaustion_is_final` promises.

Bounded: `MAX_TARGETS` targets, the oldest dropped first, and none with more than
`MAX_HOLDERS` holders (the memo is only an optimisation: a target not kept is asked in Redis).
"""

import threading
from dataclasses import dataclass

from kinsave.gates.store import Admission

MAX_TARGETS = 1024
MAX_HOLDERS = 10_000


@dataclass(frozen=True, slots=True)
class FinalTarget:
    gen: str
    info: str
    until: int  # 0: never
    holders: frozenset[str]


class ExhaustionMemo:
    """Targets finally exhausted, by tag: `answer` on the event loop; `keep` and `forget` from
    any thread."""

    def __init__(self) -> None:
        self._targets: dict[str, FinalTarget] = {}
        self._lock = threading.Lock()
        self.version = 0  # bumped by every forget

    def answer(self, tag: str, member: str, now: int) -> Admission | None:
        """The script's admission of this tap, or None: not known here (ask the store)."""
        target = self._targets.get(tag)
        if target is None:
            return None
        if 0 < target.until <= now:
            with self._lock:  # the script passes every tap from now on
                self._targets.pop(tag, None)
            return None
        verdict = "already" if member in target.holders else "exhausted"
        return Admission(target.gen, target.info, (verdict,))

    def keep(self, tag: str, target: FinalTarget, version: int) -> None:
        """Keep `target`, read after `version` was seen (not if a forget came since)."""
        if len(target.holders) > MAX_HOLDERS:
            return
        with self._lock:
            if version != self.version:
                return
            if len(self._targets) >= MAX_TARGETS and tag not in self._targets:
                del self._targets[next(iter(self._targets))]
            self._targets[tag] = target

    def knows(self, tag: str) -> bool:
        return tag in self._targets

    def forget(self, tag: str) -> None:
        with self._lock:
            self.version += 1
            self._targets.pop(tag, None)
