"""Each answer in one socket write (ops/http_protocol.py): the writes of one turn of the event loop
leave together, in order, and nothing held is lost when uvicorn closes the connection."""

import asyncio
import socket

from kinsave.ops.http_protocol import OneWritePerTurn
from tests.conftest import LiveServer


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> str:
        return f"info {name}"


def test_the_writes_of_one_turn_leave_in_one_write() -> None:
    async def scenario() -> list[list[bytes]]:
        real = RecordingTransport()
        transport = OneWritePerTurn(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(bytearray(b"body"))
        seen = [list(real.writes)]
        await asyncio.sleep(0)
        seen.append(list(real.writes))
        transport.write(b"next answer")
        await asyncio.sleep(0)
        seen.append(list(real.writes))
        assert transport.get_extra_info("peername") == "info peername"
        return seen

    before, after_one_turn, after_the_next = asyncio.run(scenario())
    assert before == []
    assert after_one_turn == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    assert after_the_next == [b"HTTP/1.1 200 OK\r\n\r\nbody", b"next answer"]


def test_close_writes_what_is_held_first_and_a_closed_transport_gets_nothing() -> None:
    async def scenario() -> tuple[list[bytes], list[bytes]]:
        loop = asyncio.get_running_loop()
        closing, lost = RecordingTransport(), RecordingTransport()
        transport = OneWritePerTurn(closing, loop)  # type: ignore[arg-type]
        transport.write(b"last answer")
        transport.close()
        assert closing.closed
        dropped = OneWritePerTurn(lost, loop)  # type: ignore[arg-type]
        dropped.write(b"too late")
        lost.closed = True  # the client went away meanwhile
        await asyncio.sleep(0)
        return closing.writes, lost.writes

    assert asyncio.run(scenario()) == ([b"last answer"], [])


def _exchange(live_server: LiveServer, request: bytes) -> bytes:
    """Everything the server sends until it closes (the last request asks it to)."""
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as client:
        client.sendall(request)
        received = b""
        while chunk := client.recv(65536):
            received += chunk
    return received


def test_pipelined_requests_get_whole_answers_in_order(live_server: LiveServer) -> None:
    one = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: first\r\n\r\n"
    two = b"GET /v1/nothing-here HTTP/1.1\r\nHost: t\r\nX-Request-Id: second\r\n"
    two += b"Connection: close\r\n\r\n"
    received = _exchange(live_server, one + two)
    head_one, _, rest = received.partition(b"\r\n\r\n")
    assert head_one.startswith(b"HTTP/1.1 200 ") and b"x-request-id: first" in head_one
    assert b"HTTP/1.1 404 " in rest and rest.index(b"x-request-id: second") > 0


def test_a_connection_close_answer_is_whole_before_the_close(live_server: LiveServer) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    head, _, body = _exchange(live_server, request).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"connection: close" in head
    lines = head.split(b"\r\n")
    declared = next(int(x.split(b":")[1]) for x in lines if x.startswith(b"content-length"))
    assert len(body) == declared > 0
