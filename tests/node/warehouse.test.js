// MilesLong Warehouse (examples/warehouse) with the official client under Node: sign-in,
// routing by section, role and person (supervisors see everything), acknowledgements seen
// live by supervisors, nothing missed across a reconnect, forklift tasks offered as client
// results (accepted, declined, unanswered, reassigned), the simulator's stream of events,
// on each storage: SQLite in memory, a SQLite file, and PostgreSQL (a database the test
// creates on the machine's server).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as signalR from "@microsoft/signalr";
import { startExample } from "./server.js";

const POSTGRES = process.env.SIGNALR_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A fresh PostgreSQL database for one run; { url, drop }. */
function createDatabase() {
  const name = `warehouse_test_${process.pid}_${Date.now()}`;
  const run = (sql) => spawnSync("psql", [POSTGRES, "-v", "ON_ERROR_STOP=1", "-c", sql], { encoding: "utf8" });
  const created = run(`CREATE DATABASE ${name}`);
  if (created.status !== 0) {
    throw new Error(
      `cannot create a PostgreSQL database through ${POSTGRES} (${created.stderr || created.error}); ` +
        "start PostgreSQL (Debian: apt-get install postgresql) or set SIGNALR_TEST_POSTGRES_URL",
    );
  }
  const url = new URL(POSTGRES);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function signIn(server, name, section, role) {
  const response = await fetch(`${server.url}/api/signin`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, section, role }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()).token;
}

/** A signed-in device with what it received. */
async function device(server, name, section, role, { offerTask, transport } = {}) {
  const token = await signIn(server, name, section, role);
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(`${server.url}/hubs/notifications`, {
      accessTokenFactory: () => token,
      ...(transport ? { transport: signalR.HttpTransportType[transport] } : {}),
    })
    .configureLogging(signalR.LogLevel.None)
    .build();
  const seen = { notifications: [], acks: [], tasks: [] };
  connection.on("Notify", (n) => seen.notifications.push(n));
  connection.on("Acknowledged", (a) => seen.acks.push(a));
  connection.on("TaskUpdate", (t) => seen.tasks.push(t));
  connection.on("OfferTask", offerTask ?? (() => false));
  await connection.start();
  return { name, token, connection, seen };
}

async function until(what, check, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const settle = () => new Promise((r) => setTimeout(r, 300));

async function routingAndAcknowledgements(server) {
  const alice = await device(server, "Alice", "receiving", "picker");
  const bob = await device(server, "Bob", "cold-storage", "forklift-operator", { transport: "LongPolling" });
  const bobPhone = await device(server, "Bob", "cold-storage", "forklift-operator", { transport: "ServerSentEvents" });
  const sam = await device(server, "Sam", "shipping", "supervisor");
  const devices = [alice, bob, bobPhone, sam];
  try {
    const post = (title, audience, severity = "info") =>
      sam.connection.invoke("PostNotice", { title, severity, audience });
    const toReceiving = await post("Dock 3 is closed", { section: "receiving" }, "warning");
    const toColdForklifts = await post("Forklift F2 charged", { section: "cold-storage", role: "forklift-operator" });
    const toBob = await post("Bob, call the office", { user: "Bob" }, "critical");
    const toEveryone = await post("Fire drill at 15:00", {});

    const titles = (d) => d.seen.notifications.map((n) => n.title);
    await until("alice's notifications", () => titles(alice).length >= 2);
    await until("bob's notifications", () => titles(bob).length >= 3 && titles(bobPhone).length >= 3);
    await until("sam's notifications", () => titles(sam).length >= 4);
    await settle();
    assert.deepEqual(titles(alice).sort(), ["Dock 3 is closed", "Fire drill at 15:00"]);
    assert.deepEqual(titles(bob).sort(), ["Bob, call the office", "Fire drill at 15:00", "Forklift F2 charged"]);
    assert.deepEqual(titles(bobPhone).sort(), titles(bob).sort(), "every device of a user");
    assert.deepEqual(new Set(titles(sam)), new Set(["Dock 3 is closed", "Forklift F2 charged", "Bob, call the office", "Fire drill at 15:00"]));

    // What is open for whom, from the store.
    const open = async (d) => (await d.connection.invoke("Unacknowledged")).map((n) => n.id).sort((a, b) => a - b);
    assert.deepEqual(await open(alice), [toReceiving.id, toEveryone.id]);
    assert.deepEqual(await open(bob), [toColdForklifts.id, toBob.id, toEveryone.id]);
    assert.deepEqual(await open(sam), [toReceiving.id, toColdForklifts.id, toBob.id, toEveryone.id]);

    // Alice acknowledges: supervisors see it live; it is no longer open for anyone.
    assert.equal(await alice.connection.invoke("Acknowledge", toReceiving.id), true);
    assert.equal(await sam.connection.invoke("Acknowledge", toReceiving.id), false, "first one wins");
    await until("sam sees the acknowledgement", () => sam.seen.acks.some((a) => a.notificationId === toReceiving.id));
    const ack = sam.seen.acks.find((a) => a.notificationId === toReceiving.id);
    assert.equal(ack.by, "Alice");
    assert.equal(ack.section, "receiving");
    assert.deepEqual(await open(alice), [toEveryone.id]);
    const recent = await sam.connection.invoke("RecentAcknowledgements");
    assert.ok(recent.some((a) => a.notificationId === toReceiving.id && a.by === "Alice"));

    // Nothing missed: Bob's phone is offline while two things happen, then reconnects.
    await bobPhone.connection.stop();
    const whileAway = await post("Cold room C4 door open", { section: "cold-storage" }, "critical");
    await bob.connection.invoke("Acknowledge", toBob.id);
    const phone = await device(server, "Bob", "cold-storage", "forklift-operator");
    devices.push(phone);
    const openOnPhone = (await phone.connection.invoke("Unacknowledged")).map((n) => n.id);
    assert.ok(openOnPhone.includes(whileAway.id), "what happened while away");
    assert.ok(!openOnPhone.includes(toBob.id), "what another device acknowledged");

    // Non-supervisors cannot post or dispatch.
    await assert.rejects(alice.connection.invoke("PostNotice", { title: "x", severity: "info", audience: {} }), /unauthorized/);
    await assert.rejects(alice.connection.invoke("DispatchTask", "x", "receiving"), /unauthorized/);
  } finally {
    await Promise.all(devices.map((d) => d.connection.stop()));
  }
}

async function withServer(args, body) {
  const server = await startExample("warehouse", ["--simulate-every", "0", "--task-answer-secs", "2", ...args]);
  try {
    await body(server);
  } finally {
    await server.stop();
  }
}

describe("storage", () => {
  test("SQLite in memory: routing, acknowledgements, nothing missed", () => withServer([], routingAndAcknowledgements));

  test("a SQLite file: routing, acknowledgements, and notifications kept across a restart", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "warehouse-"));
    const file = path.join(dir, "warehouse.db");
    try {
      await withServer(["--db", file], routingAndAcknowledgements);
      await withServer(["--db", file], async (server) => {
        const sam = await device(server, "Sam", "shipping", "supervisor");
        const open = await sam.connection.invoke("Unacknowledged");
        assert.ok(open.some((n) => n.title === "Cold room C4 door open"), "still open after the restart");
        await sam.connection.stop();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("PostgreSQL: routing, acknowledgements, nothing missed", async () => {
    const database = createDatabase();
    try {
      await withServer(["--postgres", database.url], routingAndAcknowledgements);
    } finally {
      database.drop();
    }
  });
});

test("forklift tasks: offered as client results, declined and unanswered ones reassigned, the outcome to supervisors", async () => {
  await withServer([], async (server) => {
    const offers = [];
    const never = () => new Promise(() => {});
    const dana = await device(server, "Dana", "cold-storage", "forklift-operator", {
      offerTask: (offer) => (offers.push(["Dana", offer.taskId]), false),
    });
    const eli = await device(server, "Eli", "receiving", "forklift-operator", {
      offerTask: (offer) => (offers.push(["Eli", offer.taskId]), offer.description.includes("accept")),
    });
    const fay = await device(server, "Fay", "cold-storage", "forklift-operator", {
      offerTask: (offer) => (offers.push(["Fay", offer.taskId]), never()),
    });
    const sam = await device(server, "Sam", "shipping", "supervisor");
    const all = [dana, eli, fay, sam];
    try {
      // Cold-storage operators first (Dana declines, Fay never answers), then Eli.
      const accepted = await sam.connection.invoke("DispatchTask", "Move 4 pallets, please accept", "cold-storage");
      assert.equal(accepted.state, "accepted");
      assert.equal(accepted.assignee, "Eli");
      assert.deepEqual(accepted.passedOver, ["Dana", "Fay"]);
      assert.deepEqual(offers.map(([who]) => who), ["Dana", "Fay", "Eli"]);
      await until("eli is told", () => eli.seen.notifications.some((n) => n.kind === "task" && n.title.includes("accepted by Eli")));
      await until("the supervisor sees the outcome", () => sam.seen.tasks.some((t) => t.taskId === accepted.taskId));

      const nobody = await sam.connection.invoke("DispatchTask", "Move the broken pallet", "receiving");
      assert.equal(nobody.state, "unassigned");
      assert.equal(nobody.assignee, null);
      await until("supervisors are alerted", () =>
        sam.seen.notifications.some((n) => n.severity === "critical" && n.title.includes("Nobody took the task")),
      );
    } finally {
      await Promise.all(all.map((d) => d.connection.stop()));
    }
  });
});

test("the simulator: a living warehouse of arrivals, cold storage, shipments, alerts and delays, stored", async () => {
  const server = await startExample("warehouse", ["--simulate-every", "50", "--task-answer-secs", "1"]);
  try {
    const sam = await device(server, "Sam", "shipping", "supervisor");
    const points = [];
    const subscription = sam.connection.stream("Throughput").subscribe({ next: (p) => points.push(p), error: () => {}, complete: () => {} });
    await until("a minute's worth of events", () => new Set(sam.seen.notifications.map((n) => n.kind)).size >= 4, 15_000);
    await until("the chart's stream", () => points.some((p) => p.notifications > 0), 5_000);
    subscription.dispose();
    const sections = new Set(sam.seen.notifications.map((n) => n.audience.section).filter(Boolean));
    assert.ok(sections.size >= 3, `several sections: ${[...sections]}`);
    const health = await (await fetch(`${server.url}/api/health`)).json();
    assert.ok(health.stored >= sam.seen.notifications.length, JSON.stringify(health));
    await sam.connection.stop();
  } finally {
    await server.stop();
  }
});

test("sign-in: bad requests get 400 with a reason; the hub needs a token", async () => {
  await withServer([], async (server) => {
    const bad = await fetch(`${server.url}/api/signin`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Zed", section: "roof", role: "picker" }),
    });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /unknown section `roof`/);
    const negotiate = await fetch(`${server.url}/hubs/notifications/negotiate?negotiateVersion=1`, { method: "POST" });
    assert.equal(negotiate.status, 401);
    const page = await fetch(`${server.url}/`);
    assert.match(await page.text(), /MilesLong Warehouse/);
    const bundle = await fetch(`${server.url}/lib/signalr.js`);
    assert.equal(bundle.status, 200, "the browser client comes from the page's npm package");
  });
});

test("two processes on the Redis backplane with one PostgreSQL database: a notice from one reaches the other's devices, acknowledgements come back", async () => {
  const { findRedis } = await import("./redis.js");
  const redis = await findRedis();
  const database = createDatabase();
  const shared = ["--redis", redis.url, "--postgres", database.url, "--token-key", "two-process-test", "--simulate-every", "0"];
  const servers = [];
  try {
    servers.push(await startExample("warehouse", shared), await startExample("warehouse", shared));
    const sam = await device(servers[0], "Sam", "shipping", "supervisor");
    const bob = await device(servers[1], "Bob", "cold-storage", "forklift-operator");
    try {
      const notice = await sam.connection.invoke("PostNotice", {
        title: "Cold room C2 defrosting",
        severity: "warning",
        audience: { section: "cold-storage" },
      });
      await until("bob, on the other process, is told", () => bob.seen.notifications.some((n) => n.id === notice.id));
      assert.equal(await bob.connection.invoke("Acknowledge", notice.id), true);
      await until("sam sees bob's acknowledgement", () => sam.seen.acks.some((a) => a.notificationId === notice.id && a.by === "Bob"));
    } finally {
      await Promise.all([sam.connection.stop(), bob.connection.stop()]);
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    database.drop();
    await redis.cleanup();
  }
});

test("defaults: a task offer nobody answers passes on after the default 20 s", async () => {
  const server = await startExample("warehouse", ["--simulate-every", "0"]);
  try {
    const silent = await device(server, "Gus", "shipping", "forklift-operator", { offerTask: () => new Promise(() => {}) });
    const sam = await device(server, "Sam", "shipping", "supervisor");
    try {
      const started = Date.now();
      const status = await sam.connection.invoke("DispatchTask", "Move the crate", "shipping");
      const waited = Date.now() - started;
      assert.equal(status.state, "unassigned");
      assert.deepEqual(status.passedOver, ["Gus"]);
      assert.ok(waited >= 19_500 && waited < 30_000, `waited ${waited} ms for an answer`);
    } finally {
      await Promise.all([silent.connection.stop(), sam.connection.stop()]);
    }
  } finally {
    await server.stop();
  }
});
