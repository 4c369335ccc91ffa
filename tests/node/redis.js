// Finds or starts the real Redis the scale-out tests need:
// SIGNALR_TEST_REDIS_URL if set, else a server answering on 127.0.0.1:6379, else a
// `redis-server` from PATH on a free port; otherwise the test fails saying how to get one.
// Tests that stop and start Redis, or need a cluster, always start their own servers.
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const INSTALL = "install Redis (Debian: apt-get install redis-server) or set SIGNALR_TEST_REDIS_URL";

/** A free TCP port on 127.0.0.1 (and, for cluster nodes, its bus port + 10000 free too). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether a Redis answers PING on host:port within 1 s. */
export function answersPing(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

/** Sends one command (inline form) and resolves to the raw reply. */
export function redisCommand(port, command, host = "127.0.0.1") {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let reply = "";
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error(`Redis on ${port} did not answer ${command}`));
    });
    socket.on("error", reject);
    socket.on("connect", () => socket.write(`${command}\r\n`));
    socket.on("data", (data) => {
      reply += data;
      if (reply.endsWith("\r\n")) {
        socket.end();
        resolve(reply);
      }
    });
  });
}

function hasRedisServer() {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

/**
 * Starts `redis-server` on `port` (a free one if not given), nothing kept on disk.
 * Resolves to { url, port, stop, start } where stop/start end and restart that server
 * (same port), for tests of a Redis restart.
 */
export async function startRedisServer({ port, args = [] } = {}) {
  if (!hasRedisServer()) throw new Error(`redis-server is not on PATH: ${INSTALL}`);
  port ??= await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "signalr-redis-"));
  let child = null;
  const start = async () => {
    child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...args],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    const deadline = Date.now() + 10_000;
    while (!(await answersPing("127.0.0.1", port))) {
      if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = () =>
    new Promise((resolve) => {
      if (!child || child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    cleanup: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The Redis for tests that only need one: see the file's header. */
export async function findRedis() {
  if (process.env.SIGNALR_TEST_REDIS_URL) {
    return { url: process.env.SIGNALR_TEST_REDIS_URL, cleanup: async () => {} };
  }
  if (await answersPing("127.0.0.1", 6379)) {
    return { url: "redis://127.0.0.1:6379", cleanup: async () => {} };
  }
  return startRedisServer();
}

/**
 * A three-node Redis Cluster (no replicas) on free ports, every node a master of a third
 * of the slots. Resolves to { url, ports, cleanup }.
 */
export async function startRedisCluster() {
  if (spawnSync("redis-cli", ["--version"], { stdio: "ignore" }).status !== 0) {
    throw new Error(`redis-cli is not on PATH: ${INSTALL}`);
  }
  const nodes = [];
  const ports = [];
  while (ports.length < 3) {
    const port = await freePort();
    // The cluster bus listens on port + 10000.
    if (port + 10000 > 65535 || ports.includes(port)) continue;
    ports.push(port);
  }
  for (const port of ports) {
    nodes.push(
      await startRedisServer({
        port,
        args: ["--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`, "--cluster-node-timeout", "2000"],
      }),
    );
  }
  const create = spawnSync(
    "redis-cli",
    ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"],
    { encoding: "utf8" },
  );
  if (create.status !== 0) {
    await Promise.all(nodes.map((n) => n.cleanup()));
    throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
  }
  const deadline = Date.now() + 20_000;
  for (;;) {
    const info = await Promise.all(ports.map((p) => redisCommand(p, "CLUSTER INFO")));
    if (info.every((i) => i.includes("cluster_state:ok"))) break;
    if (Date.now() > deadline) throw new Error("the Redis cluster did not reach cluster_state:ok");
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url: `redis-cluster://127.0.0.1:${ports[0]}?${ports.slice(1).map((p) => `node=127.0.0.1:${p}`).join("&")}`,
    ports,
    cleanup: () => Promise.all(nodes.map((n) => n.cleanup())),
  };
}
