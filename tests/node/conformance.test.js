// Compatibility matrix: the official @microsoft/signalr client (with its MessagePack
// protocol) against examples/conformance (shared/conformance-contract.md, sections A and B),
// over every transport × protocol pair the client supports:
// WebSockets/json, WebSockets/messagepack, ServerSentEvents/json, LongPolling/json,
// LongPolling/messagepack (MessagePack is binary and Server-Sent Events carries text only).
import { test, before, after, afterEach, describe } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import WebSocket from "ws";
import { startExample } from "./server.js";

const require = createRequire(import.meta.url);
// The low-level connection (no hub protocol) is not exported from the package index, but the
// package has no "exports" map, so its CommonJS module can be loaded directly (the official
// functional tests import it the same way, from the package's dist folder).
const { HttpConnection } = require("@microsoft/signalr/dist/cjs/HttpConnection.js");

let server;
before(async () => {
  server = await startExample("conformance");
});
after(async () => {
  await server?.stop();
});

const protocols = {
  json: () => new signalR.JsonHubProtocol(),
  messagepack: () => new MessagePackHubProtocol(),
};

const combinations = [
  ["WebSockets", "json"],
  ["WebSockets", "messagepack"],
  ["ServerSentEvents", "json"],
  ["LongPolling", "json"],
  ["LongPolling", "messagepack"],
];

const WAIT = 3000; // upper bound for anything that should happen
const QUIET = 300; // how long "nothing arrives" is watched

// ---------------------------------------------------------------------------------------------
// helpers

/** Every HubConnection created by a test; stopped after each test. */
const opened = new Set();
afterEach(async () => {
  const all = [...opened];
  opened.clear();
  await Promise.all(all.map((c) => withTimeout(c.stop(), WAIT, "stop").catch(() => {})));
});

function withTimeout(promise, ms, label) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Builds (not starts) a HubConnection. `transport` is a HttpTransportType name or undefined
 * (client's default: try all); `protocol` a key of `protocols` or a protocol instance.
 */
function build(path, { protocol = "json", transport, options = {}, reconnect, url } = {}) {
  const withUrlOptions = { ...options };
  if (transport) withUrlOptions.transport = signalR.HttpTransportType[transport];
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(url ?? `${server.url}${path}`, withUrlOptions)
    .withHubProtocol(typeof protocol === "string" ? protocols[protocol]() : protocol)
    .configureLogging(signalR.LogLevel.None);
  if (reconnect) builder = builder.withAutomaticReconnect(reconnect);
  const connection = builder.build();
  opened.add(connection);
  return connection;
}

async function started(path, settings) {
  const connection = build(path, settings);
  await withTimeout(connection.start(), WAIT * 2, `start ${path}`);
  return connection;
}

/** Resolves with the arguments of the next `method` call the connection receives. */
function nextCall(connection, method, ms = WAIT) {
  let handler;
  return withTimeout(
    new Promise((resolve) => {
      handler = (...args) => resolve(args);
      connection.on(method, handler);
    }),
    ms,
    `client method ${method}`,
  ).finally(() => connection.off(method, handler));
}

/** Resolves when `method` has not been called on the connection for `ms`; rejects otherwise. */
async function expectNoCall(connection, method, ms = QUIET) {
  const calls = [];
  const handler = (...args) => calls.push(args);
  connection.on(method, handler);
  await new Promise((r) => setTimeout(r, ms));
  connection.off(method, handler);
  assert.deepEqual(calls, [], `unexpected ${method} call(s)`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Subscribes to a server stream; resolves with { items, error } when it ends. */
function collect(streamResult, ms = WAIT) {
  const items = [];
  return withTimeout(
    new Promise((resolve) => {
      streamResult.subscribe({
        next: (item) => items.push(item),
        complete: () => resolve({ items, error: undefined }),
        error: (error) => resolve({ items, error }),
      });
    }),
    ms,
    "stream end",
  );
}

/** The transport a started connection (hub or raw) uses, from the client's internals. */
function transportOf(hubConnection) {
  const names = {
    WebSocketTransport: "WebSockets",
    ServerSentEventsTransport: "ServerSentEvents",
    LongPollingTransport: "LongPolling",
  };
  return names[hubConnection.connection.transport.constructor.name];
}

/** A protocol that also records every message it parses (to watch the wire). */
function recordingProtocol(name, record) {
  const protocol = protocols[name]();
  const parse = protocol.parseMessages.bind(protocol);
  protocol.parseMessages = (input, logger) => {
    const messages = parse(input, logger);
    record.push(...messages);
    return messages;
  };
  return protocol;
}

async function token() {
  const response = await fetch(`${server.url}/generateJwtToken`);
  assert.equal(response.status, 200);
  return response.text();
}

const COMPLEX_DATE = new Date(Date.UTC(2000, 0, 1, 0, 0, 0));

// ---------------------------------------------------------------------------------------------
// the matrix

for (const [transport, protocol] of combinations) {
  const open = (path = "/testhub", settings = {}) =>
    started(path, { protocol, transport, ...settings });
  const msgpack = protocol === "messagepack";

  describe(`${transport} with ${protocol}`, () => {
    test("EchoAny returns every value type unchanged; Echo(null) is null", async () => {
      const c = await open();
      const values = [
        "test",
        "你好，世界！",
        "",
        0,
        -1,
        2 ** 31,
        -(2 ** 31) - 1,
        Number.MAX_SAFE_INTEGER,
        1.5,
        -0.25,
        true,
        false,
        null,
        [],
        [1, "two", null, true, 2.5],
        {},
        { Name: "n", nested: { deeper: { list: [1, { x: "y" }] }, empty: {} }, flag: false },
      ];
      for (const value of values) {
        assert.deepEqual(await c.invoke("EchoAny", value), value, `EchoAny(${JSON.stringify(value)})`);
      }
      assert.equal(await c.invoke("Echo", null), null);
      assert.equal(await c.invoke("echo", "你好，世界！"), "你好，世界！", "method names ignore case");
      assert.equal(await c.invoke("Echo", ""), "");
    });

    test("SendComplexObject returns String/IntArray/ByteArray/Guid/DateTime", async () => {
      const c = await open();
      const result = await c.invoke("SendComplexObject");
      assert.deepEqual(Object.keys(result).sort(), ["ByteArray", "DateTime", "Guid", "IntArray", "String"]);
      assert.equal(result.String, "hello world");
      assert.deepEqual(result.IntArray, [1, 2, 3]);
      assert.equal(result.Guid, "00010203-0405-0607-0706-050403020100");
      if (msgpack) {
        assert.ok(result.ByteArray instanceof Uint8Array, "bin decodes to a Uint8Array");
        assert.deepEqual([...result.ByteArray], [1, 2, 3]);
        assert.ok(result.DateTime instanceof Date, "timestamp extension decodes to a Date");
        assert.equal(result.DateTime.getTime(), COMPLEX_DATE.getTime());
      } else {
        assert.equal(result.ByteArray, "AQID");
        assert.equal(result.DateTime, "2000-01-01T00:00:00Z");
      }
    });

    test("EchoComplexObject round-trips the object exactly", async () => {
      const c = await open();
      const object = msgpack
        ? {
            String: "hello",
            IntArray: [0x01, 0x02, 0x03, 0xff],
            ByteArray: new Uint8Array([0x68, 0x65, 0x6c, 0x6c, 0x6f]),
            Guid: "00010203-0405-0607-0706-050403020100",
            DateTime: new Date(Date.UTC(2002, 3, 1, 10, 20, 15)),
          }
        : {
            String: "hello",
            IntArray: [0x01, 0x02, 0x03, 0xff],
            ByteArray: "aGVsbG8=",
            Guid: "00010203-0405-0607-0706-050403020100",
            DateTime: "2002-04-01T10:20:15Z",
          };
      const echoed = await c.invoke("EchoComplexObject", object);
      if (msgpack) {
        assert.ok(echoed.ByteArray instanceof Uint8Array, "bin stays bin");
        assert.deepEqual([...echoed.ByteArray], [...object.ByteArray]);
        assert.ok(echoed.DateTime instanceof Date, "timestamp stays a timestamp");
        assert.equal(echoed.DateTime.getTime(), object.DateTime.getTime());
        assert.deepEqual(
          { ...echoed, ByteArray: null, DateTime: null },
          { ...object, ByteArray: null, DateTime: null },
        );
      } else {
        assert.deepEqual(echoed, object);
      }
    });

    test("error texts, and the connection stays usable after each", async () => {
      const c = await open();
      const cases = [
        [
          () => c.invoke("ThrowException", "boom"),
          "An unexpected error occurred invoking 'ThrowException' on the server. InvalidOperationException: boom",
        ],
        [
          () => c.invoke("Nope"),
          "Failed to invoke 'Nope' due to an error on the server. HubException: Method does not exist.",
        ],
        [
          () => c.invoke("Echo", "a", "b"),
          "Failed to invoke 'Echo' due to an error on the server. InvalidDataException: Invocation provides 2 argument(s) but target expects 1.",
        ],
        [
          () => c.invoke("Stream"),
          "The client attempted to invoke the streaming 'Stream' method with a non-streaming invocation.",
        ],
        [
          () => c.invoke("EmptyStream"),
          "The client attempted to invoke the streaming 'EmptyStream' method with a non-streaming invocation.",
        ],
      ];
      for (const [call, message] of cases) {
        await assert.rejects(withTimeout(call(), WAIT, message), { message });
        assert.equal(c.state, signalR.HubConnectionState.Connected);
        assert.equal(await c.invoke("Echo", "still here"), "still here");
      }
      const { items, error } = await collect(c.stream("Echo", "x"));
      assert.deepEqual(items, []);
      assert.equal(
        error?.message,
        "The client attempted to invoke the non-streaming 'Echo' method with a streaming invocation.",
      );
      const unknown = await collect(c.stream("Nope"));
      assert.equal(
        unknown.error?.message,
        "Failed to invoke 'Nope' due to an error on the server. HubException: Method does not exist.",
      );
      // A send (no invocation id) to an unknown method is ignored.
      await c.send("Nope", 1, 2);
      assert.equal(await c.invoke("Echo", "still here"), "still here");
    });

    test("errors without detailed errors (/testhub-nodetailederrors)", async () => {
      const c = await open("/testhub-nodetailederrors");
      await assert.rejects(c.invoke("ThrowException", "boom"), {
        message: "An unexpected error occurred invoking 'ThrowException' on the server.",
      });
      await assert.rejects(c.invoke("Echo", "a", "b"), {
        message: "Failed to invoke 'Echo' due to an error on the server.",
      });
      await assert.rejects(c.invoke("Nope"), {
        message: "Failed to invoke 'Nope' due to an error on the server. HubException: Method does not exist.",
      });
      const late = await collect(c.stream("StreamThenThrow", 1, "late"));
      assert.deepEqual(late.items, [1]);
      assert.equal(late.error?.message, "An error occurred on the server while streaming results.");
      assert.equal(await c.invoke("Echo", "ok"), "ok");
    });

    test("server-to-client calls: Message, CustomObject", async () => {
      const c = await open();
      const message = nextCall(c, "mEssage"); // client-side method names are case-insensitive
      assert.equal(await c.invoke("InvokeWithString", "hello"), undefined, "void Completion");
      assert.deepEqual(await message, ["hello"]);

      const custom = nextCall(c, "CustomObject");
      await c.invoke("SendCustomObject", { Name: "SignalR", Value: 42 });
      assert.deepEqual(await custom, [{ Name: "SignalR", Value: 42 }]);

      const viaSend = nextCall(c, "message");
      await c.send("InvokeWithString", "sent");
      assert.deepEqual(await viaSend, ["sent"]);
    });

    test("connection ids; Broadcast, SendToCaller, SendToOthers, SendToConnection", async () => {
      const a = await open();
      const b = await open();
      const cc = await open();
      const idA = await a.invoke("GetCallerConnectionId");
      const idB = await b.invoke("GetCallerConnectionId");
      assert.equal(idA, a.connectionId);
      assert.equal(idB, b.connectionId);
      assert.notEqual(idA, idB);

      let calls = [a, b, cc].map((x) => nextCall(x, "BroadcastMessage"));
      await a.invoke("Broadcast", "to all");
      for (const call of calls) assert.deepEqual(await call, ["to all"]);

      const own = nextCall(b, "CallerMessage");
      const noneA = expectNoCall(a, "CallerMessage");
      const noneC = expectNoCall(cc, "CallerMessage");
      await b.invoke("SendToCaller", "just me");
      assert.deepEqual(await own, ["just me"]);
      await noneA;
      await noneC;

      calls = [b, cc].map((x) => nextCall(x, "OthersMessage"));
      const notSelf = expectNoCall(a, "OthersMessage");
      await a.invoke("SendToOthers", "not a");
      for (const call of calls) assert.deepEqual(await call, ["not a"]);
      await notSelf;

      const direct = nextCall(b, "Message");
      const notA = expectNoCall(a, "Message");
      const notC = expectNoCall(cc, "Message");
      await a.invoke("SendToConnection", idB, "for b");
      assert.deepEqual(await direct, ["for b"]);
      await notA;
      await notC;
    });

    test("groups: JoinGroup, SendToGroup, LeaveGroup", async () => {
      const a = await open();
      const b = await open();
      const group = `group-${transport}-${protocol}`;
      await a.invoke("JoinGroup", group);
      await b.invoke("JoinGroup", group);
      let calls = [a, b].map((x) => nextCall(x, "GroupMessage"));
      await a.invoke("SendToGroup", group, "one");
      for (const call of calls) assert.deepEqual(await call, [group, "one"]);

      assert.equal(await b.invoke("LeaveGroup", group), undefined);
      const stillA = nextCall(a, "GroupMessage");
      const notB = expectNoCall(b, "GroupMessage");
      await b.invoke("SendToGroup", group, "two"); // a non-member may send to the group
      assert.deepEqual(await stillA, [group, "two"]);
      await notB;

      const other = expectNoCall(a, "GroupMessage");
      const otherB = expectNoCall(b, "GroupMessage");
      await a.invoke("SendToGroup", `${group}-nobody`, "three");
      await other;
      await otherB;
      await a.invoke("LeaveGroup", group);
    });

    test("server-to-client streams: items, empty, errors", async () => {
      const c = await open();
      assert.deepEqual(await collect(c.stream("Stream")), { items: ["a", "b", "c"], error: undefined });
      assert.deepEqual(await collect(c.stream("EmptyStream")), { items: [], error: undefined });
      assert.deepEqual(await collect(c.stream("CountTo", 5, 10)), { items: [1, 2, 3, 4, 5], error: undefined });

      const late = await collect(c.stream("StreamThenThrow", 2, "late"));
      assert.deepEqual(late.items, [1, 2]);
      assert.equal(
        late.error?.message,
        "An error occurred on the server while streaming results. InvalidOperationException: late",
      );
      const early = await collect(c.stream("StreamThrowException", "early"));
      assert.deepEqual(early.items, []);
      assert.equal(
        early.error?.message,
        "An unexpected error occurred invoking 'StreamThrowException' on the server. InvalidOperationException: early",
      );
      assert.equal(await c.invoke("Echo", "after streams"), "after streams");
    });

    test("cancelling a server-to-client stream", async () => {
      const received = [];
      const c = await open("/testhub", { protocol: recordingProtocol(protocol, received) });

      // InfiniteStream: the server's cancellation path calls StreamCanceled.
      const canceled = nextCall(c, "StreamCanceled");
      const infinite = c.stream("InfiniteStream").subscribe({ next() {}, error() {}, complete() {} });
      await sleep(50);
      infinite.dispose();
      assert.deepEqual(await canceled, []);

      // CountTo(1000, 20): after two items and a cancel, the server stops sending items.
      const items = [];
      let subscription;
      const two = new Promise((resolve) => {
        subscription = c.stream("CountTo", 1000, 20).subscribe({
          next(item) {
            items.push(item);
            if (items.length === 2) resolve();
          },
          error() {},
          complete() {},
        });
      });
      await withTimeout(two, WAIT, "two items");
      subscription.dispose();
      const streamItems = () => received.filter((m) => m.type === signalR.MessageType.StreamItem).length;
      await sleep(150); // items already in flight when the cancel was sent
      const afterCancel = streamItems();
      await sleep(QUIET);
      assert.equal(streamItems(), afterCancel, "no stream items after the cancel was processed");
      assert.ok(afterCancel < 20, `the stream stopped early (${afterCancel} items on the wire)`);
      assert.deepEqual(items.slice(0, 2), [1, 2]);
      // Like ASP.NET Core (DefaultHubDispatcher), the cancelled stream still ends with a
      // Completion without error.
      const id = received.find((m) => m.type === signalR.MessageType.StreamItem && m.item === 1)?.invocationId;
      const completion = received.find((m) => m.type === signalR.MessageType.Completion && m.invocationId === id);
      assert.ok(completion, "a Completion for the cancelled stream");
      assert.equal(completion.error ?? undefined, undefined);
      assert.equal(await c.invoke("Echo", "ok"), "ok");
    });

    test("client-to-server stream: thousands of items arrive in the order sent", async () => {
      // Every item is distinct and the server concatenates them as they arrive, so the
      // result equals the expected text only if nothing was lost, duplicated or reordered.
      // Long Polling and SSE send each item in its own POST, so they get fewer items.
      const count = transport === "WebSockets" ? 10000 : 1000;
      const c = await open();
      const subject = new signalR.Subject();
      const result = c.invoke("StreamingConcat", subject);
      const items = Array.from({ length: count }, (_, i) => `${i},`);
      for (const item of items) subject.next(item);
      subject.complete();
      assert.equal(await withTimeout(result, 30000, "ordered upload"), items.join(""));
    });

    test("client-to-server stream: StreamingConcat", async () => {
      const c = await open();
      const subject = new signalR.Subject();
      const result = c.invoke("StreamingConcat", subject);
      subject.next("Hello ");
      subject.next("world");
      subject.next("!");
      subject.complete();
      assert.equal(await withTimeout(result, WAIT, "StreamingConcat"), "Hello world!");

      // The client completes the upload stream with the error's `message` ("Something bad",
      // not "Error: Something bad": HubConnection._launchStreams uses err.message for Error
      // instances), and the server surfaces it as a HubException.
      const failing = new signalR.Subject();
      const rejected = c.invoke("StreamingConcat", failing);
      failing.next("partial");
      failing.error(new Error("Something bad"));
      await assert.rejects(withTimeout(rejected, WAIT, "StreamingConcat error"), {
        message: "An unexpected error occurred invoking 'StreamingConcat' on the server. HubException: Something bad",
      });

      const empty = new signalR.Subject();
      const nothing = c.invoke("StreamingConcat", empty);
      empty.complete();
      assert.equal(await withTimeout(nothing, WAIT, "empty upload"), "");
    });

    test("client results: GetClientResult and GET /clientresult/{id}", async () => {
      const c = await open();
      c.on("Compute", (v) => v * 2);
      assert.equal(await c.invoke("GetClientResult", 21), 42);
      c.off("Compute");
      c.on("Compute", () => {
        throw new Error("cannot compute");
      });
      await assert.rejects(c.invoke("GetClientResult", 1), /cannot compute/);
      c.off("Compute");
      await assert.rejects(c.invoke("GetClientResult", 1), /Client didn't provide a result\./);

      const clientResult = async () => {
        const response = await withTimeout(
          fetch(`${server.url}/clientresult/${encodeURIComponent(c.connectionId)}`),
          WAIT,
          "GET /clientresult",
        );
        assert.equal(response.status, 200);
        return response.text();
      };
      c.on("Result", () => 10);
      assert.equal(await clientResult(), "10");
      c.off("Result");
      c.on("Result", () => {
        throw new Error("from callback");
      });
      assert.equal(await clientResult(), "Error: from callback");
      c.off("Result");
      assert.equal(await clientResult(), "Client didn't provide a result.");
      assert.equal(await c.invoke("Echo", "ok"), "ok");
    });

    test("AbortConnection closes without error and without reconnecting", async () => {
      const c = await open("/testhub", { reconnect: [0] });
      let reconnecting = false;
      c.onreconnecting(() => (reconnecting = true));
      const closed = new Promise((resolve) => c.onclose((error) => resolve({ error })));
      await c.invoke("AbortConnection").catch(() => {}); // the completion may race the close
      assert.deepEqual(await withTimeout(closed, WAIT, "onclose"), { error: undefined });
      assert.equal(reconnecting, false);
      assert.equal(c.state, signalR.HubConnectionState.Disconnected);
    });

    test("automatic reconnect gets a new connection id", async () => {
      const c = await open("/testhub", { reconnect: [0] });
      const oldId = c.connectionId;
      assert.equal(await c.invoke("GetCallerConnectionId"), oldId);
      const reconnecting = new Promise((resolve) => c.onreconnecting(resolve));
      const reconnected = new Promise((resolve) => c.onreconnected(resolve));
      // Drop the transport underneath the hub connection with an error, as a network failure
      // would (this is how the official functional tests force a reconnect; it works the same
      // on every transport).
      c.connection.stop(new Error("transport killed by the test"));
      const why = await withTimeout(reconnecting, WAIT, "onreconnecting");
      assert.equal(why?.message, "transport killed by the test");
      const newId = await withTimeout(reconnected, WAIT * 2, "onreconnected");
      assert.equal(newId, c.connectionId);
      assert.notEqual(newId, oldId);
      assert.equal(c.state, signalR.HubConnectionState.Connected);
      assert.equal(await c.invoke("GetCallerConnectionId"), newId);
      assert.equal(await c.invoke("GetActiveTransportName"), transport);
    });

    test("authorization: 401 without a token, Echo with one", async () => {
      const denied = build("/authorizedhub", { protocol, transport });
      // Negotiate is refused, on every transport: 401 with the standard reason phrase and an
      // empty body (the client would print a non-empty body in place of the reason phrase).
      await assert.rejects(denied.start(), {
        message: "Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'",
      });
      const bad = build("/authorizedhub", { protocol, transport, options: { accessTokenFactory: () => "not.a.jwt" } });
      await assert.rejects(bad.start(), /401/);

      const c = await open("/authorizedhub", { options: { accessTokenFactory: () => token() } });
      assert.equal(await c.invoke("Echo", "authorized"), "authorized");
      assert.equal(transportOf(c), transport);
    });

    test("headers, cookies, redirects and the transport name", async () => {
      const c = await open("/testhub", { options: { headers: { "X-HEADER": "VALUE" } } });
      assert.match(await c.invoke("GetHeader", "User-Agent"), /^Microsoft SignalR\//);
      assert.equal(await c.invoke("GetHeader", "x-header"), "VALUE");
      assert.equal(await c.invoke("GetHeader", "X-Not-Sent"), null);
      // The node client keeps negotiate's cookies in a tough-cookie jar and sends them on
      // every transport (fetch-cookie for long polling and sends, a Cookie header for the
      // WebSocket upgrade and the EventSource request). Expired cookies are not kept.
      assert.equal(await c.invoke("GetCookie", "testCookie"), "testValue");
      assert.equal(await c.invoke("GetCookie", "testCookie2"), "testValue2");
      assert.equal(await c.invoke("GetCookie", "expiredCookie"), null);
      assert.equal(await c.invoke("GetActiveTransportName"), transport);
      assert.equal(transportOf(c), transport);

      const redirected = await open(undefined, {
        url: `${server.url}/redirect?baseUrl=${encodeURIComponent(server.url)}`,
      });
      const redirects = await redirected.invoke("GetNumRedirects");
      assert.equal(typeof redirects, "number");
      assert.ok(redirects >= 1, `GetNumRedirects = ${redirects}`);
      assert.equal(await redirected.invoke("GetCallerConnectionId"), redirected.connectionId);
      assert.equal(await redirected.invoke("GetActiveTransportName"), transport);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// outside the matrix

test("MessagePack over Server-Sent Events is refused", async () => {
  const connection = build("/testhub", { protocol: "messagepack", transport: "ServerSentEvents" });
  await assert.rejects(withTimeout(connection.start(), WAIT, "start"), /Server-Sent Events|transports/);
});

test("WebSockets: an abruptly killed socket reconnects with a new connection id", async () => {
  for (const protocol of Object.keys(protocols)) {
    const c = await started("/testhub", { protocol, transport: "WebSockets", reconnect: [0] });
    const oldId = c.connectionId;
    const reconnecting = new Promise((resolve) => c.onreconnecting(resolve));
    const reconnected = new Promise((resolve) => c.onreconnected(resolve));
    c.connection.transport._webSocket.terminate(); // ws: destroy the socket, no close frame
    const why = await withTimeout(reconnecting, WAIT, "onreconnecting");
    assert.match(why?.message ?? "", /WebSocket closed with status code: 1006/);
    const newId = await withTimeout(reconnected, WAIT * 2, "onreconnected");
    assert.notEqual(newId, oldId);
    assert.equal(await c.invoke("GetCallerConnectionId"), newId);
  }
});

test("skipNegotiation over WebSockets: connectionId is null, the hub works", async () => {
  for (const protocol of Object.keys(protocols)) {
    const c = await started("/testhub", {
      protocol,
      transport: "WebSockets",
      options: { skipNegotiation: true },
    });
    assert.equal(c.connectionId, null);
    assert.equal(await c.invoke("Echo", "direct"), "direct");
    assert.equal(await c.invoke("GetActiveTransportName"), "WebSockets");
  }
});

test("/testhub-nowebsockets: JSON ends on Server-Sent Events, MessagePack on Long Polling", async () => {
  const json = await started("/testhub-nowebsockets", { protocol: "json" });
  assert.equal(transportOf(json), "ServerSentEvents");
  assert.equal(await json.invoke("GetActiveTransportName"), "ServerSentEvents");
  const binary = await started("/testhub-nowebsockets", { protocol: "messagepack" });
  assert.equal(transportOf(binary), "LongPolling");
  assert.equal(await binary.invoke("GetActiveTransportName"), "LongPolling");

  const negotiate = async (path) => {
    const response = await fetch(`${server.url}${path}/negotiate?negotiateVersion=1`, { method: "POST" });
    assert.equal(response.status, 200);
    return response.json();
  };
  const limited = await negotiate("/testhub-nowebsockets");
  assert.deepEqual(limited.availableTransports, [
    { transport: "ServerSentEvents", transferFormats: ["Text"] },
    { transport: "LongPolling", transferFormats: ["Text", "Binary"] },
  ]);
  const full = await negotiate("/testHub"); // paths are case-insensitive
  assert.equal(full.negotiateVersion, 1);
  assert.notEqual(full.connectionId, full.connectionToken);
  assert.deepEqual(
    full.availableTransports.map((t) => t.transport),
    ["WebSockets", "ServerSentEvents", "LongPolling"],
  );

  const ws = build("/testhub-nowebsockets", { protocol: "json", transport: "WebSockets" });
  await assert.rejects(withTimeout(ws.start(), WAIT, "start"));
});

test("/uncreatable: the connection is closed with the activation error", async () => {
  // The handshake succeeds, then the server sends a Close message with the error. The client
  // processes the handshake response and the Close together, so start() itself rejects
  // (HubConnection._stopDuringStartError) and onclose is never called (never "started").
  const expected =
    "Server returned an error on close: Connection closed with an error. InvalidOperationException: Unable to resolve service for type 'System.Object' while attempting to activate 'FunctionalTests.UncreatableHub'.";
  for (const [transport, protocol] of combinations) {
    const c = build("/uncreatable", { protocol, transport });
    const closed = new Promise((resolve) => c.onclose(resolve));
    let startError;
    try {
      await withTimeout(c.start(), WAIT, "start");
    } catch (error) {
      startError = error;
    }
    // Either way the error must be the activation error (a client whose start() won the race
    // would see it in onclose instead).
    const error = startError ?? (await withTimeout(closed, WAIT, "onclose"));
    assert.equal(error?.message, expected, `${transport}/${protocol}`);
    assert.equal(c.state, signalR.HubConnectionState.Disconnected);
  }
});

test("JWT endpoint: lower-case route, access_token query, empty 401 body", async () => {
  // Tokens come from GET /generateJwtToken (also matched case-insensitively). The matrix above
  // uses an async accessTokenFactory; here the access_token query source is checked directly.
  const lower = await fetch(`${server.url}/generatejwttoken`);
  assert.equal(lower.status, 200);
  const jwt = await lower.text();
  assert.equal(jwt.split(".").length, 3);
  const negotiate = await fetch(`${server.url}/authorizedhub/negotiate?negotiateVersion=1&access_token=${jwt}`, {
    method: "POST",
  });
  assert.equal(negotiate.status, 200);
  const denied = await fetch(`${server.url}/authorizedhub/negotiate?negotiateVersion=1`, { method: "POST" });
  assert.equal(denied.status, 401);
  assert.equal(await denied.text(), "");
});

for (const transport of ["WebSockets", "ServerSentEvents", "LongPolling"]) {
  test(`/echo with the low-level HttpConnection over ${transport}`, async () => {
    const formats =
      transport === "ServerSentEvents"
        ? [signalR.TransferFormat.Text]
        : [signalR.TransferFormat.Text, signalR.TransferFormat.Binary];
    for (const format of formats) {
      const connection = new HttpConnection(`${server.url}/echo`, {
        transport: signalR.HttpTransportType[transport],
        logger: signalR.NullLogger.instance,
      });
      const received = [];
      let wake;
      connection.onreceive = (data) => {
        received.push(data);
        wake?.();
      };
      const closed = new Promise((resolve) => (connection.onclose = resolve));
      await withTimeout(connection.start(format), WAIT, "start");
      try {
        assert.equal(transportOf({ connection }), transport);
        const waitFor = async (predicate) => {
          const deadline = Date.now() + WAIT;
          while (!predicate()) {
            if (Date.now() > deadline) throw new Error(`timed out; received ${received.length} chunk(s)`);
            await new Promise((r) => {
              wake = r;
              setTimeout(r, 50);
            });
          }
        };
        if (format === signalR.TransferFormat.Text) {
          await connection.send("hello, 世界");
          await waitFor(() => received.join("") === "hello, 世界");
        } else {
          await connection.send(new Uint8Array([0, 1, 2, 0xfe, 0xff]).buffer);
          const bytes = () => received.flatMap((d) => [...new Uint8Array(d)]);
          await waitFor(() => bytes().length >= 5);
          assert.deepEqual(bytes(), [0, 1, 2, 0xfe, 0xff]);
        }
      } finally {
        await connection.stop();
      }
      assert.equal(await withTimeout(closed, WAIT, "onclose"), undefined);
    }
  });
}

/** Opens a plain `ws` WebSocket (no negotiate, no `id`) to `path`. */
async function plainWebSocket(path) {
  const socket = new WebSocket(`${server.url.replace(/^http/, "ws")}${path}`);
  await withTimeout(
    new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    }),
    WAIT,
    `open ${path}`,
  );
  return socket;
}

test("a plain WebSocket to /echo (no negotiate) echoes text and bytes", async () => {
  const socket = await plainWebSocket("/echo");
  try {
    // ws 7 (the client's dependency) hands text frames over as strings, binary ones as Buffers.
    const text = new Promise((resolve) => socket.once("message", resolve));
    socket.send("ping text, 你好");
    assert.equal(await withTimeout(text, WAIT, "text echo"), "ping text, 你好");
    // Bytes come back unchanged. The frame type is not asserted: ASP.NET Core's echo handler
    // never sets a transfer format, so its WebSocket transport answers with Text frames; the
    // Rust server answers with Text while the data is UTF-8 and switches to Binary otherwise.
    // Bytes that are not UTF-8 (0xff) can only come back intact in a Binary frame (ws 7 closes
    // with 1007 on an invalid Text frame), so this also shows that no data is mangled.
    const binary = new Promise((resolve) => socket.once("message", resolve));
    socket.send(Buffer.from([0xff, 0, 0xfe, 9]));
    const echoed = await withTimeout(binary, WAIT, "binary echo");
    assert.deepEqual([...Buffer.from(echoed)], [0xff, 0, 0xfe, 9]);
  } finally {
    socket.terminate();
  }
});

test(
  "a client-initiated WebSocket close gets the server's close frame: code 1000, clean",
  async () => {
    for (const path of ["/echo", "/testhub"]) {
      const socket = await plainWebSocket(path);
      if (path === "/testhub") {
        const handshake = new Promise((resolve) => socket.once("message", resolve));
        socket.send('{"protocol":"json","version":1}\x1e');
        assert.equal(String(await withTimeout(handshake, WAIT, "handshake")), "{}\x1e");
      } else {
        const echo = new Promise((resolve) => socket.once("message", resolve));
        socket.send("message");
        assert.equal(await withTimeout(echo, WAIT, "echo"), "message");
      }
      const closed = new Promise((resolve) => socket.once("close", (code) => resolve(code)));
      socket.close(1000);
      assert.equal(await withTimeout(closed, WAIT, "close"), 1000, path);
    }
  },
);
