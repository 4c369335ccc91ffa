// The official @microsoft/signalr client against examples/chat over every transport
// (WebSockets, Server-Sent Events, Long Polling) with the JSON and the MessagePack hub
// protocols (MessagePack is binary: not over Server-Sent Events).
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { startExample } from "./server.js";

let server;
before(async () => {
  server = await startExample("chat");
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

function connectWith(protocol, options, transport) {
  return new signalR.HubConnectionBuilder()
    .withUrl(`${server.url}/chat`, { transport: signalR.HttpTransportType[transport], ...options })
    .withHubProtocol(protocols[protocol]())
    .configureLogging(signalR.LogLevel.None)
    .build();
}

/** Resolves with the arguments of the next `method` call the connection receives. */
function nextCall(connection, method) {
  return new Promise((resolve) => {
    const handler = (...args) => {
      connection.off(method, handler);
      resolve(args);
    };
    connection.on(method, handler);
  });
}

for (const [transport, protocol] of combinations) {
  const connect = (protocolName, options = {}) => connectWith(protocolName, options, transport);
  describe(`${transport} with ${protocol}`, () => {
    test("connects and gets a connection id", async () => {
      const connection = connect(protocol);
      await connection.start();
      assert.equal(connection.state, signalR.HubConnectionState.Connected);
      assert.match(connection.connectionId, /^[A-Za-z0-9_-]{22}$/);
      await connection.stop();
    });

    test("invoke returns the method's result", async () => {
      const connection = connect(protocol);
      await connection.start();
      assert.equal(await connection.invoke("Echo", "héllo ✓"), "héllo ✓");
      assert.equal(await connection.invoke("Add", 40, 2), 42);
      assert.equal(await connection.invoke("add", -5, 2), -3, "method names match ignoring case");
      await connection.stop();
    });

    test("invoke of a method returning Err rejects with the HubException text", async () => {
      const connection = connect(protocol);
      await connection.start();
      await assert.rejects(connection.invoke("Fail", "nope"), {
        message: "An unexpected error occurred invoking 'Fail' on the server. HubException: nope",
      });
      assert.equal(await connection.invoke("Echo", "still open"), "still open");
      await connection.stop();
    });

    test("invoke of an unknown method rejects and the connection stays open", async () => {
      const connection = connect(protocol);
      await connection.start();
      await assert.rejects(connection.invoke("NoSuchMethod"), {
        message:
          "Failed to invoke 'NoSuchMethod' due to an error on the server. HubException: Method does not exist.",
      });
      await assert.rejects(connection.invoke("Add", 1), {
        message: "Failed to invoke 'Add' due to an error on the server.",
      });
      await assert.rejects(connection.invoke("Add", "one", 2), {
        message: "Failed to invoke 'Add' due to an error on the server.",
      });
      assert.equal(connection.state, signalR.HubConnectionState.Connected);
      assert.equal(await connection.invoke("Add", 1, 2), 3);
      await connection.stop();
    });

    test("a renamed method is reached by its wire name", async () => {
      const connection = connect(protocol);
      await connection.start();
      const count = await connection.invoke("MessageCount");
      assert.equal(typeof count, "number");
      await connection.stop();
    });

    test("send and invoke of SendMessage reach every connection", async () => {
      const alice = connect(protocol);
      const bob = connect(protocol);
      await alice.start();
      await bob.start();
      const toAlice = nextCall(alice, "ReceiveMessage");
      const toBob = nextCall(bob, "receivemessage");
      await alice.send("SendMessage", "alice", "hi from send");
      assert.deepEqual(await toAlice, ["alice", "hi from send"]);
      assert.deepEqual(await toBob, ["alice", "hi from send"]);

      const again = nextCall(alice, "ReceiveMessage");
      const againBob = nextCall(bob, "ReceiveMessage");
      assert.equal(await bob.invoke("SendMessage", "bob", "hi from invoke"), undefined, "a void Completion");
      assert.deepEqual(await again, ["bob", "hi from invoke"]);
      assert.deepEqual(await againBob, ["bob", "hi from invoke"]);
      await alice.stop();
      await bob.stop();
    });

    test("stop closes the connection cleanly", async () => {
      const connection = connect(protocol);
      await connection.start();
      const closed = new Promise((resolve) => connection.onclose(resolve));
      await connection.stop();
      assert.equal(await closed, undefined, "onclose fires without an error");
      assert.equal(connection.state, signalR.HubConnectionState.Disconnected);
    });

    test("the transport in use is the one asked for", async () => {
      const connection = connect(protocol);
      await connection.start();
      assert.equal(transportOf(connection), transport);
      await connection.stop();
    });
  });
}

function connect(protocol, options = {}) {
  return connectWith(protocol, options, "WebSockets");
}

/** The transport a started HubConnection uses (read from the client's internals). */
function transportOf(hubConnection) {
  const names = {
    WebSocketTransport: "WebSockets",
    ServerSentEventsTransport: "ServerSentEvents",
    LongPollingTransport: "LongPolling",
  };
  return names[hubConnection.connection.transport.constructor.name];
}

for (const protocol of Object.keys(protocols)) {
  test(`skipNegotiation connects straight over WebSockets with ${protocol}`, async () => {
    const connection = connect(protocol, { skipNegotiation: true });
    await connection.start();
    assert.equal(await connection.invoke("Echo", "direct"), "direct");
    await connection.stop();
  });
}

test("MessagePack over Server-Sent Events is refused: SSE carries text only", async () => {
  const connection = connectWith("messagepack", {}, "ServerSentEvents");
  await assert.rejects(connection.start(), /transports/);
});

test("a default client on a server without WebSockets falls back to Server-Sent Events, then Long Polling", async () => {
  for (const [offered, expected] of [
    ["sse,lp", "ServerSentEvents"],
    ["lp", "LongPolling"],
  ]) {
    const limited = await startExample("chat", ["--transports", offered]);
    try {
      for (const protocol of Object.keys(protocols)) {
        const connection = new signalR.HubConnectionBuilder()
          .withUrl(`${limited.url}/chat`)
          .withHubProtocol(protocols[protocol]())
          .configureLogging(signalR.LogLevel.None)
          .build();
        await connection.start();
        const want = protocol === "messagepack" ? "LongPolling" : expected;
        assert.equal(transportOf(connection), want, `${protocol} with ${offered}`);
        assert.equal(await connection.invoke("Add", 2, 3), 5);
        await connection.stop();
      }
    } finally {
      await limited.stop();
    }
  }
});

test("JSON and MessagePack clients receive the same broadcast", async () => {
  const json = connect("json");
  const msgpack = connect("messagepack");
  await json.start();
  await msgpack.start();
  const a = nextCall(json, "ReceiveMessage");
  const b = nextCall(msgpack, "ReceiveMessage");
  await json.invoke("SendMessage", "mixed", "both protocols");
  assert.deepEqual(await a, ["mixed", "both protocols"]);
  assert.deepEqual(await b, ["mixed", "both protocols"]);
  await json.stop();
  await msgpack.stop();
});

test("an axum handler reaches clients through HubContext", async () => {
  const json = connect("json");
  const msgpack = connect("messagepack");
  await json.start();
  await msgpack.start();
  const a = nextCall(json, "ReceiveMessage");
  const b = nextCall(msgpack, "ReceiveMessage");
  const response = await fetch(`${server.url}/announce`, { method: "POST", body: "maintenance at noon" });
  assert.equal(response.status, 204);
  assert.deepEqual(await a, ["server", "maintenance at noon"]);
  assert.deepEqual(await b, ["server", "maintenance at noon"]);
  await json.stop();
  await msgpack.stop();
});

test("two chat servers started with --redis: a message sent on one reaches the clients of the other, and /announce reaches both", async () => {
  const { findRedis } = await import("./redis.js");
  const redis = await findRedis();
  const servers = [
    await startExample("chat", ["--redis", redis.url]),
    await startExample("chat", ["--redis", redis.url]),
  ];
  const [alice, bob] = servers.map((s) =>
    new signalR.HubConnectionBuilder()
      .withUrl(`${s.url}/chat`)
      .configureLogging(signalR.LogLevel.None)
      .build(),
  );
  try {
    await Promise.all([alice.start(), bob.start()]);
    const atBob = nextCall(bob, "ReceiveMessage");
    // The sender is one of "all": its own copy comes back through Redis too.
    const ownCopy = nextCall(alice, "ReceiveMessage");
    await alice.invoke("SendMessage", "alice", "across servers");
    assert.deepEqual(await atBob, ["alice", "across servers"]);
    assert.deepEqual(await ownCopy, ["alice", "across servers"]);
    const atAlice = nextCall(alice, "ReceiveMessage");
    const atBobAgain = nextCall(bob, "ReceiveMessage");
    const announced = await fetch(`${servers[1].url}/announce`, { method: "POST", body: "to everyone" });
    assert.equal(announced.status, 204);
    assert.deepEqual(await atAlice, ["server", "to everyone"]);
    assert.deepEqual(await atBobAgain, ["server", "to everyone"]);
  } finally {
    await Promise.all([alice.stop(), bob.stop()]);
    await Promise.all(servers.map((s) => s.stop()));
    await redis.cleanup();
  }
});
