"""PostgreSQL: a batch's lock read and its write in one round trip, when every posting will book.

A booking on PostgreSQL was two round trips: the lock read (the accounts, in id order, and the
keys booked before), then the write (balances and transfer rows), the checks in Python between
them. A checkout write is four or five round trips in all, so these two were the largest part of
what its lane waits for (docs/benchmarks.md, "The checkout's round trips, session 11"). This
statement takes the same locks, returns the same rows as the lock read, and in the same round
trip writes the batch when a narrower, conservative condition shows that batch.py's checks will
book every posting: every account found and locked, two different accounts of one shop per
posting, no `repeated_code` key booked before, and every account that may not go negative
holding at least ALL it pays in the batch (the checks count the batch's credits too). When the
condition fails it writes nothing, and batch.py goes on as before (its checks, then its write).
batch.py's checks still run on the returned rows, and book() refuses to go on if they disagree
with what was written: the checks stay the one implementation, the condition can only decline.

Every CTE sees the statement's one snapshot; `locked` is materialized and read before `moved`
can produce a row, and an account updated by a concurrent transaction after the snapshot is
re-read at its newest version both by the lock (as the lock read) and by the UPDATE (READ
COMMITTED's re-check of a concurrently updated row), so balances move by deltas from the newest
balance, as in the two-statement write.
"""

from kinsave.db import psycopg_sql

# The posting's two accounts are matched like the lock read matches them: by id, else by kind,
# owner and shop (a Wallet, a ShopAccount). coalesce(..., false): bool_and skips NULLs.
LOCK_AND_BOOK = psycopg_sql("""
    WITH locked AS MATERIALIZED (
        SELECT id, kind, owner_id, shop_id, balance, may_go_negative FROM ledger_account
        WHERE id = ANY(CAST(:ids AS bigint[]))
           OR (kind = 'wallet' AND owner_id = ANY(CAST(:owners AS text[]))
               AND shop_id = ANY(CAST(:shops AS text[])))
           OR (kind = ANY(CAST(:shop_kinds AS text[]))
               AND owner_id = ANY(CAST(:own_shops AS text[])) AND shop_id = owner_id)
        ORDER BY id
        FOR NO KEY UPDATE
    ),
    prior AS (
        SELECT idempotency_key FROM ledger_transfer
        WHERE idempotency_key = ANY(CAST(:keys AS text[]))
    ),
    posting AS (
        SELECT p.at, p.amount, p.kind, p.idempotency_key, p.reference, p.refuse_repeated,
               f.id AS from_id, f.shop_id AS from_shop, t.id AS to_id, t.shop_id AS to_shop
        FROM unnest(CAST(:at AS int[]), CAST(:amount AS bigint[]), CAST(:kind AS text[]),
                    CAST(:idempotency_key AS text[]), CAST(:reference AS text[]),
                    CAST(:refuse_repeated AS boolean[]),
                    CAST(:from_ref_id AS bigint[]), CAST(:from_ref_kind AS text[]),
                    CAST(:from_ref_owner AS text[]), CAST(:from_ref_shop AS text[]),
                    CAST(:to_ref_id AS bigint[]), CAST(:to_ref_kind AS text[]),
                    CAST(:to_ref_owner AS text[]), CAST(:to_ref_shop AS text[]))
            AS p(at, amount, kind, idempotency_key, reference, refuse_repeated,
                 from_ref_id, from_ref_kind, from_ref_owner, from_ref_shop,
                 to_ref_id, to_ref_kind, to_ref_owner, to_ref_shop)
        LEFT JOIN locked f ON f.id = p.from_ref_id
            OR (p.from_ref_id IS NULL AND f.kind = p.from_ref_kind
                AND f.owner_id = p.from_ref_owner AND f.shop_id = p.from_ref_shop)
        LEFT JOIN locked t ON t.id = p.to_ref_id
            OR (p.to_ref_id IS NULL AND t.kind = p.to_ref_kind
                AND t.owner_id = p.to_ref_owner AND t.shop_id = p.to_ref_shop)
    ),
    verdict AS (
        SELECT coalesce(bool_and(coalesce(
                   from_id <> to_id AND from_shop = to_shop
                   AND NOT (refuse_repeated AND idempotency_key IN (SELECT * FROM prior)),
                   false)), false)
               AND NOT EXISTS (
                   SELECT FROM locked l
                   WHERE NOT l.may_go_negative
                     AND l.balance < (SELECT sum(amount) FROM posting WHERE from_id = l.id))
               AS ok
        FROM posting
    ),
    delta AS (
        SELECT id, sum(change) AS change
        FROM (SELECT from_id, -amount FROM posting UNION ALL SELECT to_id, amount FROM posting)
            AS d(id, change)
        GROUP BY id HAVING sum(change) <> 0
    ),
    moved AS (
        UPDATE ledger_account a SET balance = a.balance + delta.change
        FROM delta WHERE a.id = delta.id AND (SELECT ok FROM verdict)
        RETURNING a.id
    ),
    booked AS (
        INSERT INTO ledger_transfer (idempotency_key, from_account_id, to_account_id, shop_id,
                                     amount, kind, reference, created_at)
        SELECT idempotency_key, from_id, to_id, from_shop, amount, kind, reference, :now
        FROM posting WHERE (SELECT ok FROM verdict) ORDER BY at
        RETURNING id, idempotency_key
    )
    SELECT id, kind, owner_id, shop_id, balance, may_go_negative, NULL AS booked_key,
           NULL::bigint AS transfer_id FROM locked
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, idempotency_key, NULL FROM prior
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, idempotency_key, id FROM booked
""")
