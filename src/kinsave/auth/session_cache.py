"""A per-process memory of token -> shopper, behind the `session_cache_seconds` setting.

Every shopper request first reads its session row in its own transaction; in a storm that read is
a third of the work. Remembering the answer for a few seconds removes it. The price, and why the
setting is off by default: a revoked session keeps working in this process for up to that many
seconds (an expired one never does: its own expiry is remembered too).
"""

import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from kinsave.auth import service
from kinsave.auth.schemas import ShopperPrincipal
from kinsave.db import unit_of_work, utcnow


class SessionCache:
    def __init__(self, ttl_seconds: float, max_entries: int = 200_000) -> None:
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, ShopperPrincipal]] = {}
        self._lock = threading.Lock()

    def peek(self, token: str) -> ShopperPrincipal | None:
        """The remembered shopper of this token, if still fresh; never touches the database."""
        entry = self._entries.get(token)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        return None

    def forget(self, token: str) -> None:
        """Drop a token at once (its logout, in this process)."""
        self._entries.pop(token, None)

    def resolve(self, read_factory: sessionmaker[Session], token: str) -> ShopperPrincipal:
        """The shopper of a valid token; raises unauthorized like `auth.service.resolve_session`."""
        remembered = self.peek(token)
        if remembered is not None:
            return remembered
        with unit_of_work(read_factory) as session:
            principal = service.resolve_session(session, token)
            if self._ttl <= 0:
                return principal
            expires_at = service.session_expires_at(session, token)
        remaining = (expires_at - utcnow()).total_seconds()
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # crude, but a storm's working set fits well below this
            self._entries[token] = (time.monotonic() + min(self._ttl, remaining), principal)
        return principal
