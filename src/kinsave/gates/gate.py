"""A gate: storm refusals answered before any database work, never one the database would not give.

`admit(items)` (one store round trip for the whole batch, no database) answers each item:
a refusal (`already` or `exhausted`: the kind's codes), `reserved` (a unit is held for it until
`settle`), `pass` (the gate can not be sure: the database decides, unreserved) or `miss` (the
target is not seeded). `load(session, ticket)` seeds the missed targets from the database inside
the batch's transaction and admits their items again; `settle(ticket, outcomes)` after the
commit gives back every reservation and teaches the gate what the database did (grants, and the
database's own refusals); `release(ticket)` gives them back when nothing was committed.

A settlement is held, not sent: it goes to the store ahead of the next admission, in the same
round trip (a batch pays one round trip, not two), or at `flush`, which the batch's lane calls
before it waits for work and `join` calls for a batch that asks the store nothing. So a
settlement waits at most until the next batch of its lane starts, and none is stranded.

Why it is exact: `left` starts at what the database holds and only drops by grants settled after
their commit; the database's own "exhausted" refusals lower a separate bound, `cap` (a grant that
committed before such a refusal but settles after it must not be counted against it twice). The
gate refuses on the smaller of the two and neither drops for a reservation, so a tap refused
`exhausted` is one the database would refuse whatever the taps in flight do. A member
counts as holding only after a committed grant or the database's own "already" answer; a member
whose own earlier tap is still in flight passes to the database. Anything that raises the truth
(a top-up, a stock change) calls `forget`, and a seed read before the forget is never installed.

When the store fails (Redis down), every item passes to the database unreserved and the store is
left alone for `retry_seconds`; then it is asked again, and any count it lost is seeded anew.
"""

import logging
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session

from kinsave.errors import KinsaveError
from kinsave.gates.front_door import FrontDoor
from kinsave.gates.store import STORE_ERRORS, Admission, Seed, Settlement, Store
from kinsave.ops import metrics

log = logging.getLogger("kinsave.gates")
Item = TypeVar("Item")
ItemIn = TypeVar("ItemIn", contravariant=True)
RETRY_SECONDS = 2.0
REFUSED = ("already", "exhausted")
# The metric's outcome per verdict; a refusal counts under its error code.
_OUTCOME = {"reserved": "admitted", "pass": "passed"}


class Spec(Protocol[ItemIn]):
    """What one kind of gate (grab, daily, coupon) knows about its items and the database."""

    name: str
    prefix: str  # of its tags: env:, camp:, tpl:
    codes: dict[str, KinsaveError]  # "already" and "exhausted" as the database answers them
    # Once exhausted (every unit granted and settled) a target stays so until its `until`, and
    # nothing (no process's `forget`) can raise it: its taps are answered from memory
    # (gates/memo.py). False where another process may raise the truth.
    exhaustion_is_final: bool

    def tag(self, item: ItemIn) -> str: ...

    def member(self, item: ItemIn) -> str: ...

    def seed(self, session: Session, tag: str, item: ItemIn) -> Seed | None:
        """The target's state from the database; None to leave it unseeded (the database will
        refuse its items anyway: not found, not active)."""
        ...

    def learn(self, item: ItemIn, outcome: object, info: str) -> tuple[str, int, int]:
        """What the database's outcome teaches: (kind, amount, value) as in `Settlement`."""
        ...


@dataclass(slots=True)
class Ticket(Generic[Item]):
    """A batch's admission: one verdict per item, and each target's generation."""

    items: list[Item]
    verdicts: list[str]
    gens: dict[str, str | None] = field(default_factory=dict)
    infos: dict[str, str] = field(default_factory=dict)
    epochs: dict[str, str] = field(default_factory=dict)


class Gate(Generic[Item]):
    def __init__(self, spec: Spec[Item], store: Store, *, retry_seconds: float = RETRY_SECONDS):
        self.spec = spec
        self.store = store
        self.retry_seconds = retry_seconds
        self._unused_until = 0.0
        self._unforgotten: set[str] = set()  # forgets the store failed to take; retried first
        self._held: list[tuple[str, str, list[Settlement]]] = []  # settlements not sent yet
        self._held_lock = threading.Lock()  # the lanes of a batcher share their gate
        final = spec.exhaustion_is_final
        self._front_door = FrontDoor(store, self._give_back, final_exhaustion=final)
        # outcome -> its GATE_DECISIONS child (two threads racing both get the same child)
        self._decisions: dict[str, Any] = {}

    @property
    def in_use(self) -> bool:
        """False while the gate waits out a store failure (the database alone decides)."""
        return time.monotonic() >= self._unused_until

    async def front(self, item: Item) -> "KinsaveError | Ticket[Item] | None":
        """This item's admission on the event loop, before it joins a batch (gates/front_door.py):
        its refusal (as the database words it), or its one-item ticket for `join` (reserved,
        passed or missed). None: the store fails or owes a forget; the batch admits it."""
        if not self.in_use or self._unforgotten:
            return None
        tag = self.spec.tag(item)
        try:
            admission = await self._front_door.admit(tag, self.spec.member(item), int(time.time()))
        except STORE_ERRORS:
            self._stop_using()
            return None
        ticket = Ticket([item], ["pass"])
        self._apply(ticket, tag, [0], admission)
        verdict = ticket.verdicts[0]
        if verdict in REFUSED:
            refusal = self.spec.codes[verdict]
            return KinsaveError(refusal.code, refusal.message)
        return ticket

    def join(self, items: Sequence[Item], fronts: Sequence[Any]) -> Ticket[Item]:
        """A batch's ticket: the items admitted at the front door (`fronts[i]` their ticket) keep
        their admission; the others (None) are admitted now, in one round trip if any (else the
        held settlements are sent alone: nothing else would carry them). A front ticket that
        missed (its target not seeded then; it holds nothing) is admitted again in that round
        trip: an earlier batch has often seeded the target since, and `load` then reads nothing
        (a hot new envelope was seeded about twice, docs/benchmarks.md, "A granted tap's cost,
        session 11"). Two front
        tickets of one target under different generations (a forget between them) can not
        settle together: the first one's generation stays, the other's reservation is given
        back and its item passes (the database decides it; nothing is learned under a stale
        generation)."""
        asking = (i for i, front in enumerate(fronts) if front is None or _missed(front))
        rest = {i: at for at, i in enumerate(asking)}
        if not rest:
            self.flush()
        asked_before = {at for i, at in rest.items() if fronts[i] is not None}
        now = self.admit([items[i] for i in rest], asked_before) if rest else Ticket([], [])
        ticket = Ticket(list(items), ["pass"] * len(items))
        for i, front in enumerate(fronts):
            source, at = (now, rest[i]) if i in rest else (front, 0)
            tag = self.spec.tag(items[i])
            if tag in ticket.gens and ticket.gens[tag] != source.gens.get(tag):
                self._give_back_ticket(tag, source, at)
                continue
            ticket.verdicts[i] = source.verdicts[at]
            ticket.gens[tag] = source.gens.get(tag)
            if tag in source.infos:
                ticket.infos[tag] = source.infos[tag]
            if tag in source.epochs:
                ticket.epochs[tag] = source.epochs[tag]
        return ticket

    async def close(self) -> None:
        """Close what `front` opened on this event loop (its Redis connections)."""
        await self._front_door.close()

    def admit(self, items: Sequence[Item], asked_before: Collection[int] = ()) -> Ticket[Item]:
        """Each item's verdict, in one store round trip (which carries the held settlements
        first); no database work. `asked_before`: items whose miss was counted already."""
        ticket = Ticket(list(items), ["pass"] * len(items))
        if not self.in_use or not self._forget_pending():
            self._count("unavailable", len(items))
            return ticket
        by_tag = _indexes_by_tag(self.spec, ticket.items)
        asks = [(tag, [self.spec.member(items[i]) for i in at]) for tag, at in by_tag.items()]
        try:
            admissions = self.store.admit(asks, int(time.time()), self._take_held())
        except STORE_ERRORS:
            self._stop_using()
            self._count("unavailable", len(items))
            return ticket
        for (tag, at), admission in zip(by_tag.items(), admissions, strict=True):
            self._apply(ticket, tag, at, admission, asked_before)
        return ticket

    def refusals(self, ticket: Ticket[Item]) -> list[KinsaveError | None]:
        """Per item, the gate's refusal (as the database words it), or None: ask the database."""
        codes = self.spec.codes
        return [
            KinsaveError(codes[v].code, codes[v].message) if v in REFUSED else None
            for v in ticket.verdicts
        ]

    def load(self, session: Session, ticket: Ticket[Item]) -> None:
        """Seed the ticket's missed targets from the database (in the batch's transaction, before
        its own writes) and admit their items again. Only ever on a miss."""
        missed = [i for i, verdict in enumerate(ticket.verdicts) if verdict == "miss"]
        if not missed:
            return
        for i in missed:
            ticket.verdicts[i] = "pass"
        by_tag = _indexes_by_tag(self.spec, [ticket.items[i] for i in missed])
        try:
            for tag, at in by_tag.items():
                seed = self.spec.seed(session, tag, ticket.items[missed[at[0]]])
                if seed is not None:
                    self.store.install(tag, ticket.epochs[tag], secrets.token_hex(8), seed)
            again = self.admit([ticket.items[i] for i in missed])
        except STORE_ERRORS:
            self._stop_using()
            return
        for position, i in enumerate(missed):
            ticket.verdicts[i] = again.verdicts[position]
        ticket.gens.update(again.gens)
        ticket.infos.update(again.infos)

    def settle(self, ticket: Ticket[Item], outcomes: Sequence[object | None]) -> None:
        """After the commit: give back every reservation, and learn the database's answers
        (held until the next admission or `flush`). `outcomes[i]` is None for an item that
        never reached the database."""
        self._hold(ticket, outcomes)

    def release(self, ticket: Ticket[Item]) -> None:
        """Nothing was committed: give back every reservation, learn nothing (held likewise)."""
        self._hold(ticket, [None] * len(ticket.items))

    def flush(self) -> None:
        """Send the held settlements now, in one round trip (none held: no store call)."""
        held = self._take_held()
        if not held:
            return
        try:
            self.store.settle(held)
        except STORE_ERRORS:
            self._stop_using()

    def forget(self, tag: str) -> None:
        """The database's truth went up (a top-up, more stock): seed the target anew. A forget
        the store can not take now is taken before this gate decides anything again."""
        if not tag.startswith(self.spec.prefix):
            return  # another gate's target
        self._unforgotten.add(tag)
        if self.in_use:
            self._forget_pending()

    def _forget_pending(self) -> bool:
        """Hand the store the forgets it has not taken yet; False when it still can not."""
        try:
            while self._unforgotten:
                tag = next(iter(self._unforgotten))
                self.store.forget(tag)
                self._front_door.forget(tag)  # after the store: a memo read before is stale
                self._unforgotten.discard(tag)
        except STORE_ERRORS:
            self._stop_using()
            return False
        return True

    def _apply(
        self,
        ticket: Ticket[Item],
        tag: str,
        at: list[int],
        admission: Admission,
        asked_before: Collection[int] = (),
    ) -> None:
        ticket.gens[tag] = admission.gen
        if admission.gen is None:
            ticket.epochs[tag] = admission.epoch
            for i in at:
                ticket.verdicts[i] = "miss"
            self._count("missed", sum(1 for i in at if i not in asked_before))
            return
        ticket.infos[tag] = admission.info
        for i, verdict in zip(at, admission.verdicts, strict=True):
            ticket.verdicts[i] = verdict
            self._count(self.spec.codes[verdict].code if verdict in REFUSED else _OUTCOME[verdict])

    def _hold(self, ticket: Ticket[Item], outcomes: Sequence[object | None]) -> None:
        settles: dict[str, list[Settlement]] = defaultdict(list)
        for item, verdict, outcome in zip(ticket.items, ticket.verdicts, outcomes, strict=True):
            tag = self.spec.tag(item)
            if verdict in REFUSED or ticket.gens.get(tag) is None:
                continue
            learned = (
                ("-", 0, 0)
                if outcome is None
                else self.spec.learn(item, outcome, ticket.infos.get(tag, ""))
            )
            if verdict == "reserved" or learned[0] != "-":
                settles[tag].append((self.spec.member(item), verdict == "reserved", *learned))
        if settles:
            with self._held_lock:
                self._held += [(tag, str(ticket.gens[tag]), e) for tag, e in settles.items()]

    def _take_held(self) -> list[tuple[str, str, list[Settlement]]]:
        with self._held_lock:
            held, self._held = self._held, []
        return held

    def _give_back_ticket(self, tag: str, ticket: Ticket[Item], at: int) -> None:
        gen = ticket.gens.get(tag)
        if ticket.verdicts[at] == "reserved" and gen is not None:
            self._give_back(tag, gen, self.spec.member(ticket.items[at]))

    def _give_back(self, tag: str, gen: str, member: str) -> None:
        """A reservation nobody will settle, given back."""
        try:
            self.store.settle([(tag, gen, [(member, True, "-", 0, 0)])])
        except STORE_ERRORS:
            self._stop_using()

    def _stop_using(self) -> None:
        self._unused_until = time.monotonic() + self.retry_seconds
        log.warning(
            "%s gate: store unavailable; the database alone decides; retried in %.1fs",
            self.spec.name,
            self.retry_seconds,
        )

    def _count(self, outcome: str, n: int = 1) -> None:
        # The labelled counter kept per outcome: `labels()` on every tap was a quarter of a
        # refusal's admission in memory (docs/benchmarks.md, "A refused tap's floor, session 10").
        counter = self._decisions.get(outcome)
        if counter is None:
            counter = self._decisions[outcome] = metrics.GATE_DECISIONS.labels(
                self.spec.name, outcome
            )
        counter.inc(n)


def _missed(front: Ticket[Any]) -> bool:
    return front.verdicts[0] == "miss"


def _indexes_by_tag(spec: Spec[Any], items: Sequence[Any]) -> dict[str, list[int]]:
    by_tag: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        by_tag[spec.tag(item)].append(i)
    return by_tag
