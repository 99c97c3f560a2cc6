"""Envelope storms as they come: mostly refusals.

shop-envelope: a shop's envelopes of 100 shares, each tapped by 30 shoppers per share (3,000
per envelope), one tapper in ten tapping again a moment later; a few envelopes hot at a time.
So 29 of 30 first taps are refused `envelope_empty` and every second tap `already_grabbed`:
the storm WeChat's envelopes saw, where refusals are most of the traffic.

family-envelope: many family groups at once, each with one envelope of 10 shares and 20 to 200
members who all tap it (one in twenty twice), every group's taps interleaved with the others'.

Both are grab storms (the grab path, the grab checks, the same variants); only the envelopes
and the attempts differ. The family envelopes are funded like the shop's (a campaign pays the
escrow): the grab path and every check are the same as for a shopper-sent envelope.
"""

from kinsave.bench.context import BenchContext
from kinsave.bench.grab_storm import GrabStorm

SHARES = 100
TAPPERS_PER_SHARE = 30
SECOND_TAPS = 0.10
FAMILY_SHARES = 10
FAMILY_MEMBERS = (20, 200)
FAMILY_SECOND_TAPS = 0.05


class ShopEnvelope(GrabStorm):
    name = "shop-envelope"

    def envelopes(self, ctx: BenchContext) -> tuple[int, int]:
        # 100 shares; a tiny run keeps its tiny share count (its crowd is tiny too).
        return ctx.scale.shop_envelopes, min(SHARES, max(ctx.scale.shares, 10))

    def attempts(self, ctx: BenchContext, count: int) -> list[tuple[int, int]]:
        """Every envelope's tappers in turn (neighbouring envelopes overlapping), each a
        distinct shopper; one in ten taps again within the next hundred taps."""
        _, shares = self.envelopes(ctx)
        crowd = len(ctx.crowd.shopper_ids)
        tappers = min(crowd, shares * TAPPERS_PER_SHARE)
        keyed: list[tuple[float, tuple[int, int]]] = []
        for envelope in range(count):
            for shopper in ctx.rng.sample(range(crowd), tappers):
                keyed.append((envelope + ctx.rng.uniform(-0.6, 0.6), (envelope, shopper)))
        keyed.sort(key=lambda pair: pair[0])
        return _with_second_taps(ctx, [attempt for _, attempt in keyed], SECOND_TAPS, 100)


class FamilyEnvelope(GrabStorm):
    name = "family-envelope"

    def envelopes(self, ctx: BenchContext) -> tuple[int, int]:
        return ctx.scale.family_envelopes, FAMILY_SHARES

    def attempts(self, ctx: BenchContext, count: int) -> list[tuple[int, int]]:
        """Each family's members tap its envelope; all families at once, interleaved."""
        crowd = len(ctx.crowd.shopper_ids)
        attempts = []
        for envelope in range(count):
            members = min(crowd, ctx.rng.randint(*FAMILY_MEMBERS))
            attempts += [(envelope, s) for s in ctx.rng.sample(range(crowd), members)]
        ctx.rng.shuffle(attempts)
        return _with_second_taps(ctx, attempts, FAMILY_SECOND_TAPS, 200)


def _with_second_taps(
    ctx: BenchContext, attempts: list[tuple[int, int]], share: float, within: int
) -> list[tuple[int, int]]:
    """`attempts` with a `share` of them repeated up to `within` taps later."""
    keyed = [(float(i), attempt) for i, attempt in enumerate(attempts)]
    for i, attempt in enumerate(attempts):
        if ctx.rng.random() < share:
            keyed.append((i + 0.5 + ctx.rng.randrange(within), attempt))
    keyed.sort(key=lambda pair: pair[0])
    return [attempt for _, attempt in keyed]
