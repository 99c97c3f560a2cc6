"""A session the process does not know, read on the event loop on SQLite (auth/loop_reads.py):
exact as the batcher's read (revoked or expired: refused at once), and never a wait: a database
it cannot read at once sends the token to the batcher instead. The tokens of one event-loop
turn are read together, in one statement."""

import asyncio
import sqlite3
import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, update

from kinsave.auth import service
from kinsave.auth.loop_reads import loop_session_reads
from kinsave.auth.models import ShopperSession
from kinsave.db import unit_of_work, utcnow
from kinsave.errors import KinsaveError
from tests.factories import login


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def reads(engine, backend):
    if backend != "sqlite":
        assert loop_session_reads(engine) is None  # PostgreSQL keeps the batcher
        pytest.skip("SQLite only")
    reads = loop_session_reads(engine)
    assert reads is not None
    yield reads
    reads.close()


def test_each_token_gets_the_batchers_answer(api, session_factory, reads):
    aunt, gone, old = (_token(login(api, name)) for name in ("aunt", "gone", "old"))
    with unit_of_work(session_factory) as session:
        service.revoke_session(session, gone)
        session.execute(
            update(ShopperSession)
            .where(ShopperSession.shopper_id == "old")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    (resolved,) = reads.resolve_many([aunt])
    assert not isinstance(resolved, KinsaveError) and resolved is not None
    principal, expires_at = resolved
    assert principal.shopper_id == "aunt" and expires_at > utcnow()
    with unit_of_work(session_factory) as session:
        batchers = service.resolve_sessions(session, [aunt])
    assert batchers == [resolved]
    for answer in reads.resolve_many([gone, old, "ks_unknown"]):
        assert isinstance(answer, KinsaveError) and answer.code == "unauthorized"


def test_what_it_cannot_read_at_once_goes_to_the_batcher(api, reads, tmp_path):
    aunt = _token(login(api, "aunt"))
    with reads._lock:  # another thread's loop is reading: no wait for it
        assert reads.resolve_many([aunt, aunt]) == [None, None]
    (resolved,) = reads.resolve_many([aunt])
    assert resolved is not None and not isinstance(resolved, KinsaveError)
    sqlite3.connect(tmp_path / "empty.db").close()
    broken = loop_session_reads(create_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    assert broken is not None
    assert broken.resolve_many([aunt]) == [None]  # a driver error: not raised
    broken.close()


def test_one_turns_tokens_are_read_in_one_statement(api, session_factory, reads):
    aunt, gone = (_token(login(api, name)) for name in ("aunt", "gone"))
    with unit_of_work(session_factory) as session:
        service.revoke_session(session, gone)
    many = [aunt, gone, "ks_unknown", aunt] * 20  # 80 tokens, repeated: two statements
    reads.resolve_many([aunt])  # opens the connection, to watch its statements
    assert reads._connection is not None
    statements: list[str] = []
    reads._connection.set_trace_callback(statements.append)
    loop = asyncio.new_event_loop()  # on a thread of its own, as the app's (never asyncio.run)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        found = asyncio.run_coroutine_threadsafe(_find_all(reads, many), loop).result(timeout=30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
    assert len([s for s in statements if s.startswith("SELECT")]) == 2  # 64, then 16
    assert [_plain(each) for each in found] == [_plain(each) for each in reads.resolve_many(many)]
    assert [_plain(each) for each in found[:4]] == ["aunt", "unauthorized", "unauthorized", "aunt"]


def _plain(resolved):
    return resolved.code if isinstance(resolved, KinsaveError) else resolved[0].shopper_id


async def _find_all(reads, tokens):
    return await asyncio.gather(*(reads.find(token) for token in tokens))


def test_a_session_revoked_by_another_process_is_refused_at_once(api, session_factory):
    headers = login(api, "niece")
    assert api.get("/v1/wallet", headers=headers).status_code == 200
    with unit_of_work(session_factory) as session:  # as `kinsave revoke-sessions` would
        assert service.revoke_shopper_sessions(session, "niece") == 1
    refused = api.get("/v1/wallet", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
