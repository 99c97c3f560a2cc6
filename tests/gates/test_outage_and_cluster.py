"""The gates through a Redis outage (a private redis-server, killed and restarted) and on a
3-node Redis Cluster (the redis_cluster fixture: scripts/redis-cluster.sh, not skipped)."""

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from kinsave.envelopes.grabs import GrabRequest
from kinsave.gates import make_gates
from tests.gates.conftest import codes, shoppers_with_wallets
from tests.gates.test_exhaustion_memo import _kept
from tests.gates.test_gates import Shop


@pytest.fixture
def shop(session_factory, settings) -> Shop:
    return Shop(session_factory, settings)


def test_a_redis_outage_mid_storm_loses_nothing_and_heals(shop, private_redis, taps_for):
    gates = make_gates(private_redis.url)
    gates.grab.retry_seconds = 0.05
    taps = taps_for(gates)
    names = [f"o{i}" for i in range(60)]
    shoppers_with_wallets(shop.session_factory, shop.shop_id, names)
    envelope_id = shop.envelope(20)
    before = codes([taps.tap("grab", GrabRequest(envelope_id, s)) for s in names[:10]])
    private_redis.kill()  # mid-storm: the database alone decides
    during = codes([taps.tap("grab", GrabRequest(envelope_id, s)) for s in names[10:30]])
    private_redis.start()  # back, empty: the gate seeds itself again
    time.sleep(0.1)
    after = codes([taps.tap("grab", GrabRequest(envelope_id, s)) for s in names[30:] + names[:5]])
    assert before == ["ok"] * 10 and during == ["ok"] * 10 + ["envelope_empty"] * 10
    assert after == ["envelope_empty"] * 30 + ["already_grabbed"] * 5
    assert shop.open_shares(envelope_id) == 0
    assert gates.grab.in_use  # recovered by itself


def test_the_gates_on_a_redis_cluster(shop, redis_cluster, taps_for):
    first, second = make_gates(redis_cluster), make_gates(redis_cluster)
    taps_a, taps_b = taps_for(first), taps_for(second)
    names = [f"k{i}" for i in range(90)]
    shoppers_with_wallets(shop.session_factory, shop.shop_id, names)
    envelopes = [shop.envelope(10) for _ in range(3)]  # three targets: likely three slots

    def tap(i_name: tuple[int, str]) -> Any:
        taps = taps_a if i_name[0] % 2 else taps_b
        envelope_id = envelopes[i_name[0] % 3]
        return taps.tap("grab", GrabRequest(envelope_id, i_name[1]), envelope_id)

    with ThreadPoolExecutor(16) as pool:
        got = codes(list(pool.map(tap, enumerate(names))))
    assert got.count("ok") == 30 and got.count("envelope_empty") == 60
    assert all(shop.open_shares(e) == 0 for e in envelopes)
    for gates, taps in ((first, taps_a), (second, taps_b)):  # the holders read on the cluster
        assert all(_kept(taps, gates, e, names[0]) for e in envelopes)
    first.grab.store.client.flushall()  # type: ignore[union-attr]
    again = codes([taps_a.tap("grab", GrabRequest(envelopes[0], n)) for n in names[:6]])
    assert set(again) <= {"already_grabbed", "envelope_empty"}


def test_a_hung_redis_costs_one_timeout_per_pause(shop, private_redis, taps_for):
    """SIGSTOP: Redis accepts connections and answers nothing. The gate waits out one socket
    timeout, then leaves Redis alone for its pause; every tap is answered by the database."""
    gates = make_gates(private_redis.url)
    gates.grab.retry_seconds = 60.0  # no second try within this test
    taps = taps_for(gates)
    names = [f"h{i}" for i in range(12)]
    shoppers_with_wallets(shop.session_factory, shop.shop_id, names)
    envelope_id = shop.envelope(5)
    assert codes([taps.tap("grab", GrabRequest(envelope_id, names[0]))]) == ["ok"]
    private_redis.freeze()
    try:
        got = codes([taps.tap("grab", GrabRequest(envelope_id, s)) for s in names[1:]])
        assert not gates.grab.in_use  # paused after the first timeout, not one per tap
    finally:
        private_redis.kill()
    assert got == ["ok"] * 4 + ["envelope_empty"] * 7
    assert shop.open_shares(envelope_id) == 0
