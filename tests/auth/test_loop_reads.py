"""A session the process does not know, read on the event loop on SQLite (auth/loop_reads.py):
exact as the batcher's read (revoked or expired: refused at once), and never a wait: a database
it cannot read at once sends the token to the batcher instead."""

import sqlite3
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
    resolved = reads.resolve(aunt)
    assert not isinstance(resolved, KinsaveError) and resolved is not None
    principal, expires_at = resolved
    assert principal.shopper_id == "aunt" and expires_at > utcnow()
    with unit_of_work(session_factory) as session:
        batchers = service.resolve_sessions(session, [aunt])
    assert batchers == [resolved]
    for refused in (gone, old, "ks_unknown"):
        answer = reads.resolve(refused)
        assert isinstance(answer, KinsaveError) and answer.code == "unauthorized"


def test_what_it_cannot_read_at_once_goes_to_the_batcher(api, reads, tmp_path):
    aunt = _token(login(api, "aunt"))
    with reads._lock:  # another thread's loop is reading: no wait for it
        assert reads.resolve(aunt) is None
    resolved = reads.resolve(aunt)
    assert resolved is not None and not isinstance(resolved, KinsaveError)
    sqlite3.connect(tmp_path / "empty.db").close()
    broken = loop_session_reads(create_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    assert broken is not None and broken.resolve(aunt) is None  # a driver error: not raised
    broken.close()


def test_a_session_revoked_by_another_process_is_refused_at_once(api, session_factory):
    headers = login(api, "niece")
    assert api.get("/v1/wallet", headers=headers).status_code == 200
    with unit_of_work(session_factory) as session:  # as `kinsave revoke-sessions` would
        assert service.revoke_shopper_sessions(session, "niece") == 1
    refused = api.get("/v1/wallet", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
