// Stateful reconnect with the official client (`withStatefulReconnect()`): a TCP proxy
// between client and server cuts the connection again and again while messages flow both
// ways, and the client resumes the same connection each time (same id, same groups) with
// nothing lost and nothing twice, streams and client results carrying on across the cuts.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { startExample } from "./server.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]);
}

async function until(condition, ms, what) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(20);
  }
}

/** A TCP proxy to `target` that can cut every connection through it at once. */
async function startProxy(target) {
  const { hostname, port } = new URL(target);
  const pairs = new Set();
  let holding = false;
  const held = [];
  const server = net.createServer((client) => {
    if (holding) {
      // Accepted but not forwarded: the client waits, as on a network that is down.
      client.pause();
      held.push(() => forward(client));
      return;
    }
    forward(client);
  });
  const forward = (client) => {
    client.resume();
    const upstream = net.connect(Number(port), hostname);
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  };
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    /** Drops every connection without a close handshake: RST, or FIN when `gently`. */
    cut(gently) {
      const cut = pairs.size;
      for (const { client, upstream } of [...pairs]) {
        if (gently) {
          client.destroy();
          upstream.destroy();
        } else {
          client.resetAndDestroy();
          upstream.resetAndDestroy();
        }
      }
      return cut;
    },
    /** New connections wait until `release()`. */
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const start of held.splice(0)) start();
    },
    close: () => {
      for (const start of held.splice(0)) start();
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

test("negotiate grants stateful reconnect only where it is allowed and only when asked", async () => {
  const server = await startExample("conformance");
  try {
    const negotiate = async (path, query) => {
      const response = await fetch(`${server.url}${path}/negotiate?negotiateVersion=1${query}`, { method: "POST" });
      assert.equal(response.status, 200);
      return response.json();
    };
    assert.equal((await negotiate("/testhub-stateful", "&useStatefulReconnect=true")).useStatefulReconnect, true);
    assert.equal((await negotiate("/testhub-stateful", "")).useStatefulReconnect, undefined);
    assert.equal((await negotiate("/testhub", "&useStatefulReconnect=true")).useStatefulReconnect, undefined);
  } finally {
    await server.stop();
  }
});

const MESSAGES = 10_000;
const CUTS = 10;

for (const protocolName of ["json", "messagepack"]) {
  test(`${protocolName}: ${MESSAGES} messages each way across ${CUTS} cuts, none lost, none twice`, { timeout: 120_000 }, async () => {
    const server = await startExample("conformance");
    const proxy = await startProxy(server.url);
    const connections = [];
    try {
      const build = (url) => {
        const builder = new signalR.HubConnectionBuilder()
          .withUrl(`${url}/testhub-stateful`, { transport: signalR.HttpTransportType.WebSockets })
          .withStatefulReconnect()
          .configureLogging(signalR.LogLevel.None);
        if (protocolName === "messagepack") builder.withHubProtocol(new MessagePackHubProtocol());
        const connection = builder.build();
        connections.push(connection);
        return connection;
      };
      const connection = build(proxy.url);
      const received = [];
      const groupMessages = [];
      let computeCalls = 0;
      connection.on("CallerMessage", (message) => {
        received.push(Number(message));
      });
      connection.on("GroupMessage", (_group, message) => {
        groupMessages.push(message);
      });
      // Client results answered slowly, so that each is in flight across a cut.
      connection.on("Compute", async (value) => {
        computeCalls += 1;
        await sleep(400);
        return value * 10;
      });
      let closed = null;
      connection.onclose((error) => (closed = error ?? "closed"));
      let reconnecting = 0;
      connection.onreconnecting(() => (reconnecting += 1));

      await connection.start();
      const connectionId = connection.connectionId;
      assert.equal(await connection.invoke("GetCallerConnectionId"), connectionId);
      await connection.invoke("JoinGroup", "stateful");

      // A server stream that outlives several cuts.
      const streamed = [];
      const streamDone = new Promise((resolve, reject) => {
        connection.stream("CountTo", 40, 75).subscribe({
          next: (item) => streamed.push(item),
          complete: resolve,
          error: reject,
        });
      });

      // Client results, each cut off while the client computes its answer. (They run
      // before the flood below: with one invocation at a time, a flood queued behind a
      // call that awaits its caller would fill the session's read-ahead.)
      let cuts = 0;
      const results = [];
      for (let k = 1; k <= 4; k++) {
        results.push(connection.invoke("GetClientResult", k));
        await until(() => computeCalls === k, 10_000, `client result ${k} to be asked`);
        await sleep(150);
        if (proxy.cut(k % 2 === 0) > 0) cuts += 1;
      }
      assert.deepEqual(await withTimeout(Promise.all(results), 30_000, "the client results"), [10, 20, 30, 40]);

      // 10,000 messages to the server, each answered with one back (so both directions
      // are counted), in batches; a cut after every 1,500, with time between cuts for
      // the acknowledgements (sent about a second after receipt, by both sides) to land.
      for (let i = 0; i < MESSAGES; i++) {
        const sent = connection.send("SendToCaller", String(i));
        if (i % 250 === 249) {
          await sent;
          await sleep(200);
        }
        if (i % 1500 === 1499 && proxy.cut(cuts % 2 === 1) > 0) cuts += 1;
      }
      await withTimeout(streamDone, 30_000, "the stream's completion");
      await until(() => received.length >= MESSAGES, 60_000, `${MESSAGES} echoes`);
      // Anything late (a duplicate) would arrive within this pause.
      await sleep(500);

      assert.equal(closed, null, "the connection never closed");
      assert.equal(reconnecting, 0, "stateful reconnect is invisible: no onreconnecting");
      assert.ok(cuts >= CUTS, `${cuts} cuts`);
      assert.equal(received.length, MESSAGES, "every message once");
      for (let i = 0; i < MESSAGES; i++) {
        if (received[i] !== i) assert.fail(`message ${i} arrived as ${received[i]} (lost, twice or out of order)`);
      }
      assert.deepEqual(streamed, Array.from({ length: 40 }, (_, i) => i + 1));
      assert.equal(computeCalls, 4, "each client result was asked once");

      // The same connection on the server: same id, still in its group.
      assert.equal(connection.connectionId, connectionId);
      assert.equal(await connection.invoke("GetCallerConnectionId"), connectionId);
      const other = build(server.url);
      await other.start();
      await other.invoke("SendToGroup", "stateful", "still a member");
      await until(() => groupMessages.length === 1, 5_000, "the group message");
      assert.deepEqual(groupMessages, ["still a member"]);
    } finally {
      await Promise.all(connections.map((c) => c.stop()));
      await proxy.close();
      await server.stop();
    }
  });
}

test("without withStatefulReconnect() a cut ends the connection as before", { timeout: 30_000 }, async () => {
  const server = await startExample("conformance");
  const proxy = await startProxy(server.url);
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(`${proxy.url}/testhub-stateful`, { transport: signalR.HttpTransportType.WebSockets })
    .configureLogging(signalR.LogLevel.None)
    .build();
  try {
    const closed = new Promise((resolve) => connection.onclose(resolve));
    await connection.start();
    proxy.cut(false);
    const error = await withTimeout(closed, 10_000, "onclose");
    assert.match(String(error), /WebSocket closed with status code: 1006/);
  } finally {
    await connection.stop();
    await proxy.close();
    await server.stop();
  }
});

test("with the default 15 s disconnect timeout a client back after 10 s resumes, one back after 17 s is closed", { timeout: 60_000 }, async () => {
  const server = await startExample("conformance");
  const proxy = await startProxy(server.url);
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(`${proxy.url}/testhub-stateful`, { transport: signalR.HttpTransportType.WebSockets })
    .withStatefulReconnect()
    .configureLogging(signalR.LogLevel.None)
    .build();
  const received = [];
  connection.on("CallerMessage", (message) => {
    received.push(message);
  });
  try {
    const closed = new Promise((resolve) => connection.onclose(resolve));
    await connection.start();
    const connectionId = connection.connectionId;

    proxy.hold();
    proxy.cut(false);
    // Sent while the network is down: kept by the client, replayed when it is back.
    await connection.send("SendToCaller", "while away");
    await sleep(10_000);
    proxy.release();
    await until(() => received.length === 1, 10_000, "the message sent while away");
    assert.deepEqual(received, ["while away"]);
    assert.equal(await connection.invoke("GetCallerConnectionId"), connectionId);

    proxy.hold();
    proxy.cut(true);
    await sleep(17_000);
    proxy.release();
    // The server disposed of the connection: the upgrade is refused and the client closes.
    const error = await withTimeout(closed, 10_000, "onclose");
    assert.ok(error, "closed with an error");
  } finally {
    await connection.stop();
    await proxy.close();
    await server.stop();
  }
});
