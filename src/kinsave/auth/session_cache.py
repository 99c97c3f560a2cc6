"""A per-process memory of token -> shopper, behind the `session_cache_seconds` setting (and the
way to the sessions kept in Redis, auth/shared_sessions.py, which are exact).

Every shopper request first reads its session row in its own transaction; in a storm that read is
a third of the work. Remembering the answer for a few seconds removes it. The price, and why the
setting is off by default: a revoked session keeps working in this process for up to that many
seconds (an expired one never does: its own expiry is remembered too).
"""

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from kinsave.auth import service
from kinsave.auth.schemas import ShopperPrincipal
from kinsave.auth.shared_sessions import SharedSessions
from kinsave.db import utcnow
from kinsave.errors import KinsaveError


class SessionCache:
    def __init__(
        self, ttl_seconds: float, max_entries: int = 200_000, shared: SharedSessions | None = None
    ) -> None:
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, ShopperPrincipal]] = {}
        self._lock = threading.Lock()
        self.shared = shared  # sessions in Redis (KINSAVE_REDIS_URL), exact for every process

    def peek(self, token: str) -> ShopperPrincipal | None:
        """The remembered shopper of this token, if still fresh; never touches the database."""
        entry = self._entries.get(token)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        return None

    def forget(self, token: str) -> None:
        """Drop a token at once (its logout, in this process)."""
        self._entries.pop(token, None)

    def resolve_many(
        self, session: Session, tokens: Sequence[str]
    ) -> list[ShopperPrincipal | KinsaveError]:
        """Each token's shopper (remembered), or unauthorized: one read for all of them. The batch
        function of the app's session batcher, which resolves a storm's new tokens together."""
        resolved = service.resolve_sessions(session, tokens)
        if self.shared is not None:
            self._backfill(self.shared, tokens, resolved)
        return [self.answer(token, each) for token, each in zip(tokens, resolved, strict=True)]

    async def find_shared(self, token: str) -> ShopperPrincipal | KinsaveError | None:
        """The token's session as Redis has it (None: not there, or Redis paused or failing:
        read the database)."""
        if self.shared is None:
            return None
        found = await self.shared.find(service.session_token_hash(token))
        if found is None:
            return None
        if isinstance(found, str) or found[1] <= time.time():  # revoked, or expired
            return KinsaveError("unauthorized", "the session token is unknown, expired or revoked")
        return self.answer(token, (ShopperPrincipal(shopper_id=found[0]), _utc(found[1])))

    @staticmethod
    def _backfill(
        shared: SharedSessions,
        tokens: Sequence[str],
        resolved: Sequence[tuple[ShopperPrincipal, datetime] | KinsaveError],
    ) -> None:
        """The live sessions the database had and Redis did not (never written, flushed), put
        back with SET NX: a revocation's tombstone is never overwritten."""
        started = [
            (service.session_token_hash(token), each[0].shopper_id, each[1])
            for token, each in zip(tokens, resolved, strict=True)
            if not isinstance(each, KinsaveError)
        ]
        shared.remember(started, backfill=True)

    def answer(
        self, token: str, resolved: tuple[ShopperPrincipal, datetime] | KinsaveError
    ) -> ShopperPrincipal | KinsaveError:
        """A read's answer for this token (remembered when it is a shopper)."""
        if isinstance(resolved, KinsaveError):
            return resolved
        principal, expires_at = resolved
        self._remember(token, principal, expires_at)
        return principal

    def _remember(self, token: str, principal: ShopperPrincipal, expires_at: datetime) -> None:
        if self._ttl <= 0:
            return
        remaining = (expires_at - utcnow()).total_seconds()
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # crude, but a storm's working set fits well below this
            self._entries[token] = (time.monotonic() + min(self._ttl, remaining), principal)


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
