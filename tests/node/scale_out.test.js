// Scale-out on Redis (issue 11, contract C.3) with the official client: three processes of
// the conformance server on one real Redis (and on a three-node Redis Cluster with sharded
// pub/sub) form one logical server. Clients connected to different processes reach each
// other through every target: broadcasts, others, groups joined on one server and sent
// from another, group changes for a connection held elsewhere (acknowledged), single
// connections elsewhere, users with connections on two servers, and client results
// across servers, over each transport, in both hub protocols at once. A Redis restart in
// the middle of traffic: local connections keep being served, the servers reconnect and
// subscribe again, and traffic crosses servers again.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { startExample } from "./server.js";
import { findRedis, startRedisServer, startRedisCluster } from "./redis.js";

const transports = ["WebSockets", "ServerSentEvents", "LongPolling"];
const JWT_KEY = "scale-out-test-key";

async function startServers(redisUrl, count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      servers.push(
        await startExample("conformance", ["--redis", redisUrl, "--jwt-key", JWT_KEY, "--server-name", `node${i}_${process.pid}`]),
      );
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    throw error;
  }
  return servers;
}

/** Collects what a client method receives, and waits for it. */
class Inbox {
  constructor(connection, methods) {
    this.items = new Map(methods.map((m) => [m, []]));
    this.waiters = [];
    for (const method of methods) {
      connection.on(method, (...args) => {
        this.items.get(method).push(args);
        this.waiters = this.waiters.filter((w) => !w());
      });
    }
  }

  /** Resolves once `method` received a call matching `predicate` (within 10 s). */
  expect(method, predicate) {
    const found = () => this.items.get(method).find(predicate);
    if (found()) return Promise.resolve(found());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${method} matching ${predicate} within 10 s`)), 10_000);
      this.waiters.push(() => {
        const match = found();
        if (!match) return false;
        clearTimeout(timer);
        resolve(match);
        return true;
      });
    });
  }

  has(method, predicate) {
    return this.items.get(method).some(predicate);
  }
}

const METHODS = ["BroadcastMessage", "OthersMessage", "GroupMessage", "Message", "UserMessage"];

function connect(server, hub, transport, { protocol = "json", token } = {}) {
  const builder = new signalR.HubConnectionBuilder()
    .withUrl(`${server.url}${hub}`, {
      transport: signalR.HttpTransportType[transport],
      ...(token ? { accessTokenFactory: () => token } : {}),
    })
    .configureLogging(signalR.LogLevel.None);
  if (protocol === "messagepack") builder.withHubProtocol(new MessagePackHubProtocol());
  const connection = builder.build();
  return { connection, inbox: new Inbox(connection, METHODS) };
}

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

async function exerciseTargets(servers, transport) {
  // One client per server; the middle one speaks MessagePack (where the transport carries
  // binary), so every envelope must carry both protocols' records.
  const binary = transport !== "ServerSentEvents";
  const clients = servers.map((server, i) =>
    connect(server, "/testhub", transport, { protocol: i === 1 && binary ? "messagepack" : "json" }),
  );
  const [a, b, c] = clients;
  // Client results: Compute doubles its argument; c's `Result` answers 42.
  for (const { connection } of clients) connection.on("Compute", (value) => value * 2);
  c.connection.on("Result", () => 42);
  try {
    await Promise.all(clients.map(({ connection }) => connection.start()));
    const ids = clients.map(({ connection }) => connection.connectionId);

    // Broadcast from one server reaches every server's connections.
    await a.connection.invoke("Broadcast", `all-${transport}`);
    for (const { inbox } of clients) await inbox.expect("BroadcastMessage", ([m]) => m === `all-${transport}`);

    // Others: everyone but the caller, wherever they are.
    await b.connection.invoke("SendToOthers", "others");
    await a.inbox.expect("OthersMessage", ([m]) => m === "others");
    await c.inbox.expect("OthersMessage", ([m]) => m === "others");
    await settle();
    assert.equal(b.inbox.has("OthersMessage", () => true), false, "the caller is excluded");

    // A group joined on two servers, sent to from the third.
    await a.connection.invoke("JoinGroup", "g");
    await c.connection.invoke("JoinGroup", "g");
    await b.connection.invoke("SendToGroup", "g", "to g");
    await a.inbox.expect("GroupMessage", ([g, m]) => g === "g" && m === "to g");
    await c.inbox.expect("GroupMessage", ([g, m]) => g === "g" && m === "to g");
    await c.connection.invoke("LeaveGroup", "g");
    await b.connection.invoke("SendToGroup", "g", "after leave");
    await a.inbox.expect("GroupMessage", ([, m]) => m === "after leave");
    await settle();
    assert.equal(b.inbox.has("GroupMessage", () => true), false, "b never joined");
    assert.equal(c.inbox.has("GroupMessage", ([, m]) => m === "after leave"), false, "c left");

    // A group change for a connection held by another server: acknowledged by that
    // server before the call returns, so the next send already reaches it.
    await a.connection.invoke("AddToGroup", ids[1], "h");
    await c.connection.invoke("SendToGroup", "h", "to h");
    await b.inbox.expect("GroupMessage", ([g, m]) => g === "h" && m === "to h");
    await a.connection.invoke("RemoveFromGroup", ids[1], "h");
    await c.connection.invoke("SendToGroup", "h", "h after removal");
    await settle();
    assert.equal(b.inbox.has("GroupMessage", ([, m]) => m === "h after removal"), false);

    // One connection on another server.
    await a.connection.invoke("SendToConnection", ids[2], "just c");
    await c.inbox.expect("Message", ([m]) => m === "just c");
    await settle();
    assert.equal(b.inbox.has("Message", () => true), false);

    // Client results across servers: from a hub method, and from /clientresult/{id} on a
    // server that does not hold the connection.
    assert.equal(await a.connection.invoke("GetClientResultFrom", ids[1], 21), 42);
    assert.equal(await b.connection.invoke("GetClientResultFrom", ids[0], 5), 10);
    const fromElsewhere = await fetch(`${servers[0].url}/clientresult/${ids[2]}`);
    assert.equal(await fromElsewhere.text(), "42");
  } finally {
    await Promise.all(clients.map(({ connection }) => connection.stop()));
  }
}

test("three servers on one Redis: every target, group change and client result crosses servers, over every transport", async () => {
  const redis = await findRedis();
  const servers = await startServers(redis.url, 3);
  try {
    for (const transport of transports) await exerciseTargets(servers, transport);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await redis.cleanup();
  }
});

test("users with connections on two servers get SendToUser from a third, on /authorizedhub", async () => {
  const redis = await findRedis();
  const servers = await startServers(redis.url, 3);
  const token = async (user) => (await fetch(`${servers[2].url}/generateJwtToken?user=${user}`)).text();
  const clients = [];
  try {
    const [alice, bob] = [await token("alice"), await token("bob")];
    const phone = connect(servers[0], "/authorizedhub", "WebSockets", { token: alice });
    const laptop = connect(servers[1], "/authorizedhub", "LongPolling", { token: alice, protocol: "messagepack" });
    const sender = connect(servers[2], "/authorizedhub", "ServerSentEvents", { token: bob });
    clients.push(phone, laptop, sender);
    await Promise.all(clients.map(({ connection }) => connection.start()));
    await sender.connection.invoke("SendToUser", "alice", "for every device");
    await phone.inbox.expect("UserMessage", ([m]) => m === "for every device");
    await laptop.inbox.expect("UserMessage", ([m]) => m === "for every device");
    await settle();
    assert.equal(sender.inbox.has("UserMessage", () => true), false);
    // The user's channel is released with its last connection on a server.
    await phone.connection.stop();
    await sender.connection.invoke("SendToUser", "alice", "laptop only");
    await laptop.inbox.expect("UserMessage", ([m]) => m === "laptop only");
  } finally {
    await Promise.all(clients.map(({ connection }) => connection.stop()));
    await Promise.all(servers.map((s) => s.stop()));
    await redis.cleanup();
  }
});

test("a client result whose connection leaves its server mid-call fails the caller on another server", async () => {
  const redis = await findRedis();
  const servers = await startServers(redis.url, 2);
  const caller = connect(servers[0], "/testhub", "WebSockets");
  const target = connect(servers[1], "/testhub", "WebSockets");
  let asked;
  const wasAsked = new Promise((resolve) => (asked = resolve));
  target.connection.on("Compute", () => {
    asked();
    return new Promise(() => {}); // never answers
  });
  try {
    await Promise.all([caller.connection.start(), target.connection.start()]);
    const call = caller.connection.invoke("GetClientResultFrom", target.connection.connectionId, 1);
    await wasAsked;
    await target.connection.stop();
    await assert.rejects(call, /connection closed before the client answered/);
    assert.equal(caller.connection.state, signalR.HubConnectionState.Connected);
    // A connection that exists nowhere: a clear error, at once.
    await assert.rejects(
      caller.connection.invoke("GetClientResultFrom", "no-such-connection", 1),
      /no connection `no-such-connection`/,
    );
  } finally {
    await Promise.all([caller.connection.stop(), target.connection.stop()]);
    await Promise.all(servers.map((s) => s.stop()));
    await redis.cleanup();
  }
});

async function health(server) {
  const response = await fetch(`${server.url}/health/backplane`);
  return { status: response.status, ...(await response.json()) };
}

async function waitFor(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await settle(200);
  }
}

test("a Redis restart in the middle of traffic: local delivery goes on, servers reconnect and subscribe again", async () => {
  const redis = await startRedisServer();
  const servers = await startServers(redis.url, 2);
  const a = connect(servers[0], "/testhub", "WebSockets");
  const b = connect(servers[1], "/testhub", "LongPolling", { protocol: "messagepack" });
  try {
    await Promise.all([a.connection.start(), b.connection.start()]);
    await a.connection.invoke("JoinGroup", "kept");
    await b.connection.invoke("JoinGroup", "kept");
    // Traffic running through the restart.
    let sent = 0;
    let stopTraffic = false;
    const traffic = (async () => {
      while (!stopTraffic) {
        sent += 1;
        await a.connection.invoke("Broadcast", `tick-${sent}`);
        await settle(50);
      }
    })();
    await a.inbox.expect("BroadcastMessage", ([m]) => m === "tick-3");
    await b.inbox.expect("BroadcastMessage", ([m]) => m === "tick-3");

    await redis.stop();
    await waitFor("server 0 to notice", async () => (await health(servers[0])).state === "disconnected");
    const during = sent + 1;
    await waitFor("a broadcast during the outage", async () => sent > during + 2);
    // While Redis is down the sender's own connections still get every message.
    await a.inbox.expect("BroadcastMessage", ([m]) => m === `tick-${during + 2}`);
    const down = await health(servers[0]);
    assert.equal(down.status, 503);
    assert.ok(down.unpublished > 0, `unpublished counted: ${JSON.stringify(down)}`);
    assert.equal(a.connection.state, signalR.HubConnectionState.Connected);
    assert.equal(b.connection.state, signalR.HubConnectionState.Connected);

    await redis.start();
    for (const server of servers) {
      await waitFor("the backplane to be connected again", async () => (await health(server)).state === "connected");
    }
    const after = sent + 1;
    await b.inbox.expect("BroadcastMessage", ([m]) => m === `tick-${after + 1}`);
    stopTraffic = true;
    await traffic;
    // Groups and connection channels were subscribed again.
    await a.connection.invoke("SendToGroup", "kept", "after restart");
    await b.inbox.expect("GroupMessage", ([, m]) => m === "after restart");
    await b.connection.invoke("SendToConnection", a.connection.connectionId, "direct after restart");
    await a.inbox.expect("Message", ([m]) => m === "direct after restart");
    const healed = await health(servers[1]);
    assert.ok(healed.reconnects >= 1, JSON.stringify(healed));
  } finally {
    await Promise.all([a.connection.stop(), b.connection.stop()]);
    await Promise.all(servers.map((s) => s.stop()));
    await redis.cleanup();
  }
});

test("three servers on a three-node Redis Cluster with sharded pub/sub: every target crosses servers, over every transport", async () => {
  const cluster = await startRedisCluster();
  const servers = await startServers(cluster.url, 3);
  try {
    const report = await health(servers[0]);
    assert.equal(report.shardedPubsub, true);
    for (const transport of transports) await exerciseTargets(servers, transport);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await cluster.cleanup();
  }
});

test("defaults: a group change for a connection on no server fails after the default 30 s ack timeout, and the caller stays connected", async () => {
  const redis = await findRedis();
  const servers = await startServers(redis.url, 1);
  const caller = connect(servers[0], "/testhub", "WebSockets");
  try {
    await caller.connection.start();
    const started = Date.now();
    await assert.rejects(caller.connection.invoke("AddToGroup", "nobody-anywhere", "g"));
    const waited = Date.now() - started;
    assert.ok(waited >= 29_500 && waited < 40_000, `waited ${waited} ms for the ack`);
    assert.equal(caller.connection.state, signalR.HubConnectionState.Connected);
  } finally {
    await caller.connection.stop();
    await Promise.all(servers.map((s) => s.stop()));
    await redis.cleanup();
  }
});
