"""A per-process memory of store API keys, so that a checkout quote does not read its key row.

A store calls quote on every cart view; reading the key (a thread hop, a pool checkout, a
transaction and a primary-key read) was about a tenth of a quote's server time
(docs/benchmarks.md). Entries are keyed by the key's SHA-256, as stored, never by the key itself.

The price is bounded and documented: a key revoked or rotated away keeps working in a process
that remembers it for at most STORE_KEY_TTL_SECONDS. Refusals are never remembered, so a new key
works at once; a key's shop, role and access never change, so a remembered answer is never wrong
while the key is live.

A key not remembered is read once however many requests carry it at that moment (`principal`):
a store opening 32 connections at once, or its key's entry expiring under load, would otherwise
send every waiting request to its own thread for the same row (docs/benchmarks.md, "the quote's
tail").
"""

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

from kinsave.auth.schemas import ShopPrincipal

STORE_KEY_TTL_SECONDS = 5.0


class StoreKeyCache:
    def __init__(
        self,
        ttl_seconds: float = STORE_KEY_TTL_SECONDS,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, ShopPrincipal]] = {}
        self._lock = threading.Lock()
        self._reading: dict[str, asyncio.Future[ShopPrincipal]] = {}

    def peek(self, key_hash: str) -> ShopPrincipal | None:
        """The remembered principal of this key, if remembered less than the TTL ago."""
        entry = self._entries.get(key_hash)
        if entry is not None and entry[0] > self._clock():
            return entry[1]
        return None

    async def principal(
        self, key_hash: str, read: Callable[[], Awaitable[ShopPrincipal]]
    ) -> ShopPrincipal:
        """The key's principal: remembered, or read by `read` once for every request that asks
        while it runs. A refusal reaches each of them and is not remembered. The one way in for a
        request: a remembered key costs one look-up and no suspension."""
        remembered = self.peek(key_hash)
        if remembered is not None:
            return remembered
        reading = self._reading.get(key_hash)
        if reading is None:
            reading = asyncio.ensure_future(read())
            self._reading[key_hash] = reading
            reading.add_done_callback(lambda done: self._read_done(key_hash, done))
        return await asyncio.shield(reading)  # one asker gone does not cancel the others' read

    def _read_done(self, key_hash: str, done: "asyncio.Future[ShopPrincipal]") -> None:
        self._reading.pop(key_hash, None)
        if not done.cancelled() and done.exception() is None:
            self.remember(key_hash, done.result())

    def remember(self, key_hash: str, principal: ShopPrincipal) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # a process serves a handful of stores: never in practice
            self._entries[key_hash] = (self._clock() + self._ttl, principal)

    def forget(self, key_hash: str) -> None:
        """Drop a key at once (its rotation or revocation, seen by this process)."""
        self._entries.pop(key_hash, None)
