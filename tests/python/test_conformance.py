"""Conformance tests against the Rust conformance server with an independent
Python SignalR client (pysignalr, asyncio, JSON + MessagePack over WebSockets).

The server binary is started once per module (``--listen 127.0.0.1:0``) and
killed at the end. Every network wait has a timeout so a failure never hangs.

Binary: ``$CONFORMANCE_BIN`` or ``<repo>/target/debug/examples/conformance``
(build it with ``cargo build --example conformance``).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from pysignalr.client import ClientStream, SignalRClient
from pysignalr.messages import CompletionMessage, InvocationClientStreamMessage
from pysignalr.protocol.json import JSONProtocol
from pysignalr.protocol.messagepack import MessagepackProtocol

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("CONFORMANCE_BIN", REPO / "target/debug/examples/conformance"))

STEP = 5.0  # seconds allowed for one network step (connect, one invocation, one stream)
TEST = 20.0  # seconds allowed for one whole test body


# --------------------------------------------------------------------------- server


@pytest.fixture(scope="module")
def server_url():
    if not BINARY.is_file():
        pytest.fail(f"conformance server not built: {BINARY} (run `cargo build --example conformance`)")
    with tempfile.TemporaryDirectory() as tmp:
        out_path, err_path = Path(tmp, "stdout"), Path(tmp, "stderr")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                [str(BINARY), "--listen", "127.0.0.1:0"],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        try:
            deadline = time.monotonic() + 15
            match = None
            while match is None:
                match = re.search(r"listening on (http://\S+)", out_path.read_text(errors="replace"))
                if match:
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        "conformance server did not start (exit %s)\nstdout: %s\nstderr: %s"
                        % (proc.poll(), out_path.read_text(errors="replace"), err_path.read_text(errors="replace"))
                    )
                time.sleep(0.05)
            yield match.group(1)
            assert proc.poll() is None, "conformance server died during the tests: " + err_path.read_text(
                errors="replace"
            )
        finally:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def hub_url(server_url):
    return server_url + "/testhub"


PROTOCOLS = {"json": JSONProtocol, "messagepack": MessagepackProtocol}


@pytest.fixture(params=sorted(PROTOCOLS))
def protocol(request):
    return request.param


def run(coro, timeout: float = TEST) -> Any:
    """Runs one test body in a fresh event loop with an overall timeout."""

    async def bounded():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


# --------------------------------------------------------------------------- client wrapper


class Conn:
    """A started pysignalr client plus future-based helpers for invoke and stream."""

    def __init__(self, url: str, protocol: str):
        self.client = SignalRClient(
            url,
            protocol=PROTOCOLS[protocol](),
            connection_timeout=int(STEP),
            retry_count=1,
        )
        self.opened = asyncio.Event()
        self.closed = asyncio.Event()
        self.errors: list[CompletionMessage] = []
        self.client.on_open(self._on_open)
        self.client.on_close(self._on_close)
        # pysignalr raises inside its receive loop when an error Completion arrives
        # and no error callback is set; record them instead.
        self.client.on_error(self._on_error)
        self.task: asyncio.Task | None = None

    async def _on_open(self) -> None:
        self.opened.set()

    async def _on_close(self) -> None:
        self.closed.set()

    async def _on_error(self, message: CompletionMessage) -> None:
        self.errors.append(message)

    async def start(self) -> Conn:
        self.task = asyncio.create_task(self.client.run())
        opened = asyncio.create_task(self.opened.wait())
        done, _ = await asyncio.wait({self.task, opened}, timeout=STEP, return_when=asyncio.FIRST_COMPLETED)
        if opened not in done:
            opened.cancel()
            if self.task in done:
                self.task.result()  # raises the client's error
            raise TimeoutError("connection did not open")
        return self

    async def stop(self) -> None:
        """Stops the client: closes the WebSocket (code 1000), then cancels the run loop.

        pysignalr has no stop(); its documented way out is cancelling `run()`. Cancelling
        alone leaves the socket to the websockets connect() generator's finalizer, which
        closes it with 1011, so the socket is closed first. Whatever the run loop does
        after the socket closed (pysignalr tries to reconnect) is ignored.
        """
        if self.task is None:
            return
        ws = self.client._transport._ws  # no public stop() in pysignalr
        if ws is not None:
            await asyncio.wait_for(ws.close(), STEP)
        self.task.cancel()
        try:
            await asyncio.wait_for(self.task, STEP)
        except (asyncio.CancelledError, Exception):
            pass
        self.task = None

    async def __aenter__(self) -> Conn:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    def _check_alive(self) -> None:
        if self.task is not None and self.task.done():
            self.task.result()
            raise RuntimeError("client run loop ended")

    async def _wait(self, future: asyncio.Future, what: str) -> Any:
        run_task = self.task
        done, _ = await asyncio.wait({future, run_task}, timeout=STEP, return_when=asyncio.FIRST_COMPLETED)
        if future in done:
            return future.result()
        if run_task in done:
            run_task.result()
            raise RuntimeError(f"client run loop ended while waiting for {what}")
        raise TimeoutError(f"timed out waiting for {what}")

    async def invoke_raw(self, method: str, *args: Any) -> CompletionMessage:
        """Invokes with an invocation id; returns the server's Completion message."""
        self._check_alive()
        future = asyncio.get_running_loop().create_future()

        async def on_completion(message: CompletionMessage) -> None:
            if not future.done():
                future.set_result(message)

        await self.client.send(method, list(args), on_invocation=on_completion)
        return await self._wait(future, f"completion of {method}")

    async def invoke(self, method: str, *args: Any) -> Any:
        message = await self.invoke_raw(method, *args)
        assert message.error is None, f"{method} failed: {message.error}"
        return message.result

    async def stream(self, method: str, *args: Any) -> tuple[list[Any], str | None]:
        """Server-to-client stream; returns (items, error text or None)."""
        self._check_alive()
        items: list[Any] = []
        future = asyncio.get_running_loop().create_future()

        async def on_next(item: Any) -> None:
            items.append(item)

        async def on_complete(message: CompletionMessage) -> None:
            if not future.done():
                future.set_result(None)

        async def on_error(message: CompletionMessage) -> None:
            if not future.done():
                future.set_result(message.error)

        await self.client.stream(method, list(args), on_next, on_complete, on_error)
        error = await self._wait(future, f"end of stream {method}")
        return items, error

    async def wait_event(self, event: asyncio.Event, what: str) -> None:
        future = asyncio.ensure_future(event.wait())
        try:
            await self._wait(future, what)
        finally:
            future.cancel()


def collector(conn: Conn, method: str) -> tuple[list[list[Any]], asyncio.Event]:
    """Registers a handler for server-to-client method `method`."""
    calls: list[list[Any]] = []
    event = asyncio.Event()

    async def handler(arguments: list[Any]) -> None:
        calls.append(arguments)
        event.set()

    conn.client.on(method, handler)
    return calls, event


# --------------------------------------------------------------------------- tests


def test_connect_with_negotiate(hub_url, protocol):
    async def body():
        async with Conn(hub_url, protocol) as conn:
            # The client negotiated (POST /testhub/negotiate) and connected with
            # `?id=<connectionId>`; the hub sees the same id.
            ws_url = conn.client._transport._url
            match = re.search(r"[?&]id=([^&]+)", ws_url)
            assert match, f"client did not negotiate: {ws_url}"
            assert await conn.invoke("GetCallerConnectionId") == match.group(1)
            assert await conn.invoke("GetActiveTransportName") == "WebSockets"

    run(body())


def localhost(server_url: str) -> str:
    """pysignalr keeps negotiate cookies in an aiohttp `CookieJar()` whose default
    (`unsafe=False`) silently ignores cookies from IP-address hosts such as
    127.0.0.1 (client limitation, not a server issue), so cookie tests use
    `localhost`."""
    return server_url.replace("://127.0.0.1:", "://localhost:") + "/testhub"


def test_negotiate_cookies_reach_websocket(server_url, protocol):
    """Cookies set by the negotiate response are sent on the WebSocket request."""

    async def body():
        async with Conn(localhost(server_url), protocol) as conn:
            assert await conn.invoke("GetCookie", "testCookie") == "testValue"
            assert await conn.invoke("GetCookie", "testCookie2") == "testValue2"

    run(body())


def test_negotiate_expired_cookie_dropped(server_url, protocol):
    async def body():
        async with Conn(localhost(server_url), protocol) as conn:
            assert await conn.invoke("GetCookie", "expiredCookie") is None

    run(body())


@pytest.mark.parametrize("text", ["test", "你好，世界！", "", "42"])
def test_echo(hub_url, protocol, text):
    async def body():
        async with Conn(hub_url, protocol) as conn:
            assert await conn.invoke("Echo", text) == text

    run(body())


def test_echo_any_nested(hub_url, protocol):
    value = {
        "int": 42,
        "negative": -7,
        "float": 1.5,
        "string": "héllo",
        "bool": True,
        "null": None,
        "list": [1, "two", [3, {"four": 4}], None, False],
        "nested": {"a": {"b": {"c": [1, 2, 3]}}, "empty_list": [], "empty_map": {}},
    }

    async def body():
        async with Conn(hub_url, protocol) as conn:
            assert await conn.invoke("EchoAny", value) == value
            assert await conn.invoke("EchoAny", [1, 2.5, "x", None, {"k": [True]}]) == [1, 2.5, "x", None, {"k": [True]}]
            assert await conn.invoke("EchoAny", 7) == 7
            assert await conn.invoke("EchoAny", "plain") == "plain"

    run(body())


def test_invoke_with_string_calls_client_message(hub_url, protocol):
    async def body():
        async with Conn(hub_url, protocol) as conn:
            calls, got = collector(conn, "Message")
            message = await conn.invoke_raw("InvokeWithString", "hello from python")
            assert message.error is None and message.result is None
            await conn.wait_event(got, "client method Message")
            assert calls == [["hello from python"]]

    run(body())


def test_send_without_invocation_id_calls_client_message(hub_url, protocol):
    """Fire-and-forget `send` (no invocation id): the server must not answer with a
    Completion, but the client method is still called."""

    async def body():
        async with Conn(hub_url, protocol) as conn:
            calls, got = collector(conn, "Message")
            await conn.client.send("InvokeWithString", ["fire and forget"])
            await conn.wait_event(got, "client method Message")
            assert calls == [["fire and forget"]]
            assert await conn.invoke("Echo", "ok") == "ok"

    run(body())


def test_custom_object_pascal_case(hub_url, protocol):
    async def body():
        async with Conn(hub_url, protocol) as conn:
            calls, got = collector(conn, "CustomObject")
            await conn.invoke("SendCustomObject", {"Name": "python", "Value": 42})
            await conn.wait_event(got, "client method CustomObject")
            assert calls == [[{"Name": "python", "Value": 42}]]

    run(body())


def test_groups_and_others(hub_url, protocol):
    group = f"group-{uuid.uuid4()}"

    async def body():
        async with Conn(hub_url, protocol) as first, Conn(hub_url, protocol) as second:
            group1, got_group1 = collector(first, "GroupMessage")
            group2, _ = collector(second, "GroupMessage")
            others2, got_others2 = collector(second, "OthersMessage")
            others1, _ = collector(first, "OthersMessage")
            await first.invoke("JoinGroup", group)
            await second.invoke("SendToGroup", group, "to the group")
            await first.wait_event(got_group1, "GroupMessage on the member")
            assert group1 == [[group, "to the group"]]
            await first.invoke("SendToOthers", "to the others")
            await second.wait_event(got_others2, "OthersMessage on the other connection")
            assert others2 == [["to the others"]]
            # a round trip on each connection so anything misrouted would have arrived
            await first.invoke("Echo", "sync")
            await second.invoke("Echo", "sync")
            assert group2 == [] and others1 == []

    run(body())


def test_broadcast_reaches_two_connections(hub_url, protocol):
    async def body():
        async with Conn(hub_url, protocol) as first, Conn(hub_url, protocol) as second:
            calls1, got1 = collector(first, "BroadcastMessage")
            calls2, got2 = collector(second, "BroadcastMessage")
            text = f"broadcast-{uuid.uuid4()}"
            await first.invoke("Broadcast", text)
            await first.wait_event(got1, "BroadcastMessage on the first connection")
            await second.wait_event(got2, "BroadcastMessage on the second connection")
            assert [text] in calls1
            assert [text] in calls2

    run(body())


def test_server_to_client_stream(hub_url, protocol):
    async def body():
        async with Conn(hub_url, protocol) as conn:
            assert await conn.stream("Stream") == (["a", "b", "c"], None)
            assert await conn.stream("CountTo", 3, 10) == ([1, 2, 3], None)
            assert await conn.stream("EmptyStream") == ([], None)

    run(body())


def test_client_to_server_stream_with_result(hub_url, protocol):
    """StreamingConcat with an invocation id, so the concatenated result comes back.

    pysignalr's public `client_stream()` sends the Invocation *without* an
    invocation id (fire-and-forget), so its result can never be observed; this
    test builds the same messages with an id through the client's own message
    classes and transport.
    """

    async def body():
        async with Conn(hub_url, protocol) as conn:
            client = conn.client
            future = asyncio.get_running_loop().create_future()

            async def on_completion(message: CompletionMessage) -> None:
                future.set_result(message)

            stream = ClientStream(client._transport, "StreamingConcat")
            invocation_id = str(uuid.uuid4())
            client._invocation_handlers[invocation_id] = on_completion
            await client._transport.send(
                InvocationClientStreamMessage(
                    stream_ids=[stream.invocation_id],
                    target="StreamingConcat",
                    arguments=[],
                    invocation_id=invocation_id,
                )
            )
            for part in ["Hello ", "world", "!"]:
                await stream.send(part)
            await stream.complete()
            completion = await conn._wait(future, "completion of StreamingConcat")
            assert completion.error is None
            assert completion.result == "Hello world!"

    run(body())


def test_client_to_server_stream_public_api(hub_url, protocol):
    """pysignalr's own `client_stream()` (no invocation id): the server must accept it
    and keep the connection healthy."""

    async def body():
        async with Conn(hub_url, protocol) as conn:
            async with conn.client.client_stream("StreamingConcat") as stream:
                for part in ["a", "b", "c"]:
                    await stream.send(part)
            assert await conn.invoke("Echo", "still alive") == "still alive"
            assert conn.errors == []

    run(body())


def test_client_result(hub_url, protocol):
    async def body():
        async with Conn(hub_url, protocol) as conn:

            async def compute(arguments: list[Any]) -> int:
                return arguments[0] * 2 + 1

            conn.client.on("Compute", compute)
            assert await conn.invoke("GetClientResult", 20) == 41

    run(body())


def test_throw_exception_error_text(hub_url, protocol):
    async def body():
        async with Conn(hub_url, protocol) as conn:
            message = await conn.invoke_raw("ThrowException", "boom")
            assert message.error == (
                "An unexpected error occurred invoking 'ThrowException' on the server. "
                "InvalidOperationException: boom"
            )
            assert message.result is None
            assert [m.error for m in conn.errors] == [message.error]
            # the connection survives a failed invocation
            assert await conn.invoke("Echo", "after error") == "after error"

    run(body())


def test_stream_error_text(hub_url, protocol):
    async def body():
        async with Conn(hub_url, protocol) as conn:
            items, error = await conn.stream("StreamThrowException", "boom")
            assert items == []
            assert error == (
                "An unexpected error occurred invoking 'StreamThrowException' on the server. "
                "InvalidOperationException: boom"
            )
            items, error = await conn.stream("StreamThenThrow", 2, "late")
            assert items == [1, 2]
            assert error == (
                "An error occurred on the server while streaming results. InvalidOperationException: late"
            )

    run(body())


def test_wrong_invocation_kind_and_unknown_method(hub_url, protocol):
    async def body():
        async with Conn(hub_url, protocol) as conn:
            message = await conn.invoke_raw("NoSuchMethod", 1)
            assert message.error == (
                "Failed to invoke 'NoSuchMethod' due to an error on the server. HubException: Method does not exist."
            )
            message = await conn.invoke_raw("Stream")
            assert message.error == (
                "The client attempted to invoke the streaming 'Stream' method with a non-streaming invocation."
            )
            items, error = await conn.stream("Echo", "x")
            assert items == []
            assert error == (
                "The client attempted to invoke the non-streaming 'Echo' method with a streaming invocation."
            )
            assert await conn.invoke("Echo", "still here") == "still here"

    run(body())


def test_messagepack_binary_round_trip(hub_url):
    async def body():
        async with Conn(hub_url, "messagepack") as conn:
            value = {"bytes": b"\x00\x01\xff", "list": [b"", b"abc"]}
            assert await conn.invoke("EchoAny", value) == value

    run(body())


def test_clean_stop(hub_url, protocol):
    """The client stops (run task cancelled, WebSocket closed with 1000) without
    errors or hanging, and the server keeps serving new connections."""

    async def body():
        conn = await Conn(hub_url, protocol).start()
        assert await conn.invoke("Echo", "bye") == "bye"
        ws = conn.client._transport._ws
        await conn.stop()
        assert ws.protocol.close_sent is not None and ws.protocol.close_sent.code == 1000
        assert conn.errors == []
        async with Conn(hub_url, protocol) as again:
            assert await again.invoke("Echo", "hello again") == "hello again"

    run(body())


def test_clean_stop_close_handshake(hub_url, protocol):
    async def body():
        conn = await Conn(hub_url, protocol).start()
        ws = conn.client._transport._ws
        await conn.stop()
        assert ws.protocol.close_rcvd is not None, "server sent no Close frame"
        assert ws.close_code == 1000, (ws.close_code, ws.close_reason)

    run(body())


def test_server_initiated_close(hub_url, protocol):
    """AbortConnection: the server completes the call, sends a Close message without
    error and closes the WebSocket with 1000; pysignalr reports the close."""

    async def body():
        conn = await Conn(hub_url, protocol).start()
        ws = conn.client._transport._ws
        try:
            await conn.invoke("AbortConnection")
            await conn.wait_event(conn.closed, "the client's on_close after AbortConnection")
            await asyncio.wait_for(ws.wait_closed(), STEP)
            assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1000
            assert conn.errors == []
        finally:
            await conn.stop()

    run(body())
