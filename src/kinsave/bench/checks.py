"""Checks per shopper, after a storm: what each shopper was told against where the money went.

Counts and sums (and reconcile, which checks the ledger against itself) pass a path that books
every row consistently but credits the wrong shopper's wallet. These compare answer by answer:
every "ok" answer's amount landed in that shopper's own wallet at the shop, every grant (share,
claim, coupon) belongs to a shopper who was told "ok", and nobody holds two. And an answer the
scenario does not expect fails the run (a storm answered 503 throughout is not throughput).
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.envelopes.models import DailyClaim, EnvelopeShare
from kinsave.ledger.models import Account, Transfer

# The design the bench compares kinsave against may lose a deadlock now and then (rolled back,
# nothing moved, a client would retry): tolerated there, up to this share of the answers.
BASELINES = {"straightforward"}
BASELINE_BUSY_SHARE = 0.01

# (target: envelope or campaign id, shopper id, answer code, amount of an "ok" answer or None)
Told = tuple[str, str, str, int | None]


def answer_problems(codes: Sequence[str], expected: set[str], variant: str) -> list[str]:
    """Answers the scenario does not expect, and a storm nobody was granted anything in."""
    counts = Counter(codes)
    problems = []
    for code, n in sorted(counts.items()):
        if code in expected:
            continue
        tolerated = variant in BASELINES and code == "service_unavailable"
        if not tolerated or n > BASELINE_BUSY_SHARE * len(codes):
            problems.append(f"unexpected answer {code!r} x{n} of {len(codes)}")
    if codes and not counts["ok"]:
        problems.append("no attempt was answered ok")
    return problems


def wallet_owners(session: Session, account_ids: Iterable[int]) -> dict[int, tuple[str, str, str]]:
    """account id -> (kind, owner, shop)."""
    ids = sorted(set(account_ids))
    owners: dict[int, tuple[str, str, str]] = {}
    for start in range(0, len(ids), 5000):
        rows = session.execute(
            select(Account.id, Account.kind, Account.owner_id, Account.shop_id).where(
                Account.id.in_(ids[start : start + 5000])
            )
        )
        owners.update({row[0]: (row[1], row[2], row[3]) for row in rows})
    return owners


def grab_problems(session: Session, shop_id: str, told: Sequence[Told]) -> list[str]:
    """Per shopper and envelope: told "ok" <=> holds a share, the answered amount is the
    share's, its transfer credits that shopper's own wallet at the shop; nobody holds two."""
    envelope_ids = sorted({target for target, *_ in told})
    shares: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    credits: dict[str, tuple[int, int]] = {}  # transfer key -> (to account, amount)
    for start in range(0, len(envelope_ids), 500):
        chunk = envelope_ids[start : start + 500]
        for envelope_id, holder, share_id, amount in session.execute(
            select(
                EnvelopeShare.envelope_id,
                EnvelopeShare.grabbed_by,
                EnvelopeShare.id,
                EnvelopeShare.amount,
            ).where(EnvelopeShare.envelope_id.in_(chunk), EnvelopeShare.grabbed_by.is_not(None))
        ):
            shares[(envelope_id, str(holder))].append((share_id, amount))
        for key, to_account, amount in session.execute(
            select(Transfer.idempotency_key, Transfer.to_account_id, Transfer.amount).where(
                Transfer.kind == "envelope_grab", Transfer.reference.in_(chunk)
            )
        ):
            credits[key] = (to_account, amount)
    owners = wallet_owners(session, (to for to, _ in credits.values()))
    problems = [f"{s} holds {len(h)} shares of {e}" for (e, s), h in shares.items() if len(h) > 1]
    granted = {pair: held[0] for pair, held in shares.items()}
    paid = {
        pair: (amount, credits.get(f"envelope-grab:{share_id}"))
        for pair, (share_id, amount) in granted.items()
    }
    return problems + _compare(told, paid, owners, shop_id, "share")


def daily_problems(session: Session, shop_id: str, told: Sequence[Told]) -> list[str]:
    """Per shopper and campaign: told "ok" <=> holds a claim, of the answered amount, paid into
    that shopper's own wallet at the shop; nobody claims twice."""
    campaign_ids = sorted({target for target, *_ in told})
    claims = session.execute(
        select(DailyClaim.campaign_id, DailyClaim.shopper_id, DailyClaim.amount).where(
            DailyClaim.campaign_id.in_(campaign_ids)
        )
    ).all()
    transfers = session.execute(
        select(
            Transfer.reference, Transfer.idempotency_key, Transfer.to_account_id, Transfer.amount
        ).where(Transfer.kind == "daily_claim", Transfer.reference.in_(campaign_ids))
    ).all()
    owners = wallet_owners(session, (row[2] for row in transfers))
    # The claim's key names its shopper: daily:<campaign>:<shopper>:<day>
    by_pair = {(ref, key.split(":")[2]): (to, amount) for ref, key, to, amount in transfers}
    held = Counter((campaign, shopper) for campaign, shopper, _ in claims)
    problems = [f"{s} holds {n} claims of {c}" for (c, s), n in held.items() if n > 1]
    paid = {(c, s): (amount, by_pair.get((c, s))) for c, s, amount in claims}
    return problems + _compare(told, paid, owners, shop_id, "claim")


def _compare(
    told: Sequence[Told],
    granted: dict[tuple[str, str], tuple[int, tuple[int, int] | None]],
    owners: dict[int, tuple[str, str, str]],
    shop_id: str,
    what: str,
) -> list[str]:
    """`granted`: (target, shopper) -> (amount granted, (credited account, amount) or None)."""
    problems: list[str] = []
    oks: dict[tuple[str, str], int | None] = {}
    for target, shopper, code, amount in told:
        if code != "ok":
            continue
        if (target, shopper) in oks:
            problems.append(f"{shopper} was told ok twice for {target}")
        oks[(target, shopper)] = amount
    for pair in granted.keys() - oks.keys():
        problems.append(f"{pair[1]} holds a {what} of {pair[0]} but was never told ok")
    told_to: Counter[str] = Counter()
    landed: Counter[str] = Counter()
    for (target, shopper), answered in oks.items():
        if (target, shopper) not in granted:
            problems.append(f"{shopper} was told ok for {target} but holds no {what}")
            continue
        amount, credit = granted[(target, shopper)]
        if answered is not None and answered != amount:
            problems.append(f"{shopper} was told {answered} for {target}, the {what} is {amount}")
        told_to[shopper] += amount if answered is None else answered
        if credit is None:
            problems.append(f"{shopper}'s {what} of {target} has no transfer")
            continue
        kind, owner, shop = owners.get(credit[0], ("?", "?", "?"))
        if (kind, shop) == ("wallet", shop_id):
            landed[owner] += credit[1]
        if (kind, owner, shop) != ("wallet", shopper, shop_id) or credit[1] != amount:
            problems.append(
                f"{shopper}'s {what} of {target} ({amount}) credited {kind} {owner} "
                f"at {shop} with {credit[1]}"
            )
    problems += [
        f"{shopper}: told {told_to[shopper]} in all, their wallet got {landed[shopper]}"
        for shopper in told_to.keys() | landed.keys()
        if told_to[shopper] != landed[shopper]
    ]
    return problems
