"""Each answer in one socket write (ops/http_protocol.py): the writes of one turn of the event loop
leave together, in order, and nothing held is lost when uvicorn closes the connection."""

import socket
from collections.abc import Callable

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


class ManualLoop:
    """The event loop's `call_soon`, turned by hand."""

    def __init__(self) -> None:
        self.ready: list[Callable[[], None]] = []

    def call_soon(self, callback: Callable[[], None]) -> None:
        self.ready.append(callback)

    def turn(self) -> None:
        ready, self.ready = self.ready, []
        for callback in ready:
            callback()


def held(real: RecordingTransport, loop: ManualLoop) -> OneWritePerTurn:
    return OneWritePerTurn(real, loop)  # type: ignore[arg-type]


def test_the_writes_of_one_turn_leave_in_one_write() -> None:
    real, loop = RecordingTransport(), ManualLoop()
    transport = held(real, loop)
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(bytearray(b"body"))
    assert real.writes == []
    loop.turn()
    assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    transport.write(b"next answer")
    loop.turn()
    assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody", b"next answer"]
    assert transport.get_extra_info("peername") == "info peername"


def test_close_writes_what_is_held_first_and_a_closed_transport_gets_nothing() -> None:
    closing, lost, loop = RecordingTransport(), RecordingTransport(), ManualLoop()
    transport = held(closing, loop)
    transport.write(b"last answer")
    transport.close()
    assert closing.writes == [b"last answer"] and closing.closed
    dropped = held(lost, loop)
    dropped.write(b"too late")
    lost.closed = True  # the client went away meanwhile
    loop.turn()
    assert lost.writes == [] and closing.writes == [b"last answer"]


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
