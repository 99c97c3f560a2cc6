"""uvicorn's httptools protocol, writing each answer to the socket once instead of twice.

uvicorn writes an answer's status line and headers when the app sends `http.response.start`, and
its body when the app sends `http.response.body`: two `send()` system calls, each a trip through
the kernel's TCP stack, for an answer that fits in one segment. Under the checkout quote's load
the first of them was the largest single line of the server's profile (docs/benchmarks.md, "The
per-request cost"). Here the protocol's transport holds what is written until the event loop's
next turn and then writes it in one call: an answer sent without a pause in between (every
kinsave answer but a stream) leaves in one `send()`. Nothing else of uvicorn changes: parsing,
keep-alive, flow control and timeouts are its own.
"""

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class OneWritePerTurn:
    """A transport that joins the writes made in one turn of the event loop into one.

    A write is held until the loop's next turn (`call_soon`), or until the transport is closed
    (uvicorn closes after the last write of a `Connection: close` answer), whichever comes first.
    Everything but `write` and `close` is the wrapped transport's own.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))

    def flush(self) -> None:
        if not self._held:
            return
        data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held = []
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a OneWritePerTurn transport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(OneWritePerTurn(transport, self.loop))  # type: ignore[arg-type]
