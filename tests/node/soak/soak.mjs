// Soak, run by hand (not in CI): the official client on every transport and both
// protocols against the release build of examples/chat, for minutes, with clients that
// are killed (SIGKILL of a worker process: sockets vanish without a close) and stalled
// (SIGSTOP for longer than the send timeout, then SIGCONT) at random.
//
//   cargo build --release --example chat
//   node tests/node/soak/soak.mjs [connections=1000] [minutes=10]
//   SOAK_LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 node tests/node/soak/soak.mjs
//   SOAK_MALLOC_STATS=1 node tests/node/soak/soak.mjs   (glibc: bytes in use against bytes
//     held, at both quiet points, through gdb's `call malloc_stats()`)
//
// The driver announces a numbered message every 200 ms through `POST /announce`
// (HubContext); every connection also invokes Add and Echo now and then. Memory is
// compared like for like: after a minute of warm-up traffic, with the full set of
// clients connected and quiet, and again at the end with the same number of clients,
// quiet. At the end it reports that pair, its open sockets against the live connections
// (and after every client left), and whether every connection that stayed connected
// throughout received every announcement sent while it was connected.
import { fork, spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const connections = Number(process.argv[2] ?? 1000);
const minutes = Number(process.argv[3] ?? 10);
const WORKERS = 10;
const perWorker = Math.ceil(connections / WORKERS);
const ANNOUNCE_EVERY_MS = 200;
const WARM_UP_MS = 60_000;
const QUIET_SETTLE_MS = 15_000;


function rss(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

// glibc's own account at a quiet point: bytes the program holds against bytes malloc keeps
// from the system. Tells live growth from pages kept in the arenas.
function mallocStats(pid, label) {
  if (!process.env.SOAK_MALLOC_STATS) return;
  const gdb = spawnSync("gdb", ["-p", String(pid), "-batch", "-ex", "call (void) malloc_stats()"], {
    encoding: "utf8",
  });
  if (gdb.status !== 0) console.error(`malloc_stats (${label}) failed: ${gdb.stderr}`);
  console.log(`malloc_stats (${label}) printed above on the server's stderr`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const children = [];
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

async function main() {
  const binary = path.resolve(here, "..", "..", "..", "target", "release", "examples", "chat");
  // SOAK_LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 runs the server on another
  // allocator (glibc's malloc keeps freed pages in its arenas).
  const preload = process.env.SOAK_LD_PRELOAD;
  const server = spawn(binary, ["--listen", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...(preload ? { LD_PRELOAD: preload } : {}) },
  });
  if (preload) console.log(`server allocator: LD_PRELOAD=${preload}`);
  children.push(server);
  const url = await new Promise((resolve, reject) => {
    let output = "";
    server.stdout.on("data", (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]);
    });
    server.on("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
  const baselineFds = readdirSync(`/proc/${server.pid}/fd`).length;
  const baselineRss = rss(server.pid);
  console.log(`server ${url}, pid ${server.pid}: ${baselineRss} KiB, ${baselineFds} fds before any client`);

  let announced = 0;
  const workers = new Map();
  const results = [];
  let kills = 0;
  let stalls = 0;

  function startWorker(index) {
    const worker = fork(path.join(here, "worker.mjs"), [url, String(perWorker), String(index)], { stdio: "inherit" });
    children.push(worker);
    const entry = { worker, index, ready: false, stalled: false, connected: 0 };
    worker.on("message", (message) => {
      if (message.type === "ready") {
        entry.ready = true;
        entry.connected = message.connected;
      } else if (message.type === "report") {
        results.push(...message.connections);
        entry.reported = true;
      }
    });
    workers.set(index, entry);
    return new Promise((resolve) => {
      const check = setInterval(() => {
        if (entry.ready) {
          clearInterval(check);
          resolve(entry);
        }
      }, 50);
    });
  }

  await Promise.all(Array.from({ length: WORKERS }, (_, i) => startWorker(i)));
  await sleep(2000);
  const coldRss = rss(server.pid);
  console.log(`${connections} connections, before any traffic: ${coldRss} KiB`);
  const quiet = async (on) => {
    for (const entry of workers.values()) entry.worker.send({ type: on ? "quiet" : "traffic" });
    if (on) await sleep(QUIET_SETTLE_MS);
  };

  const announce = async () => {
    announced += 1;
    try {
      await fetch(`${url}/announce`, { method: "POST", body: `seq:${announced}` });
    } catch (error) {
      console.error(`announce ${announced} failed: ${error.message}`);
    }
  };
  let announcer = setInterval(announce, ANNOUNCE_EVERY_MS);
  // Warm-up: buffers, queues and the allocator reach their working size under traffic.
  await sleep(WARM_UP_MS);
  clearInterval(announcer);
  await quiet(true);
  const fullRss = rss(server.pid);
  const fullFds = readdirSync(`/proc/${server.pid}/fd`).length;
  console.log(`${connections} connections, warm and quiet: ${fullRss} KiB, ${fullFds} fds`);
  mallocStats(server.pid, "after the warm-up");
  await quiet(false);
  announcer = setInterval(announce, ANNOUNCE_EVERY_MS);

  const end = Date.now() + minutes * 60_000;
  let nextWorker = WORKERS;
  while (Date.now() < end - 60_000) {
    await sleep(10_000 + Math.random() * 10_000);
    const alive = [...workers.values()].filter((w) => !w.stalled);
    const victim = alive[Math.floor(Math.random() * alive.length)];
    if (Math.random() < 0.5) {
      // Vanish: no close frame, no FIN until the kernel reaps the process.
      kills += 1;
      victim.worker.kill("SIGKILL");
      workers.delete(victim.index);
      await startWorker(nextWorker++);
    } else {
      // Stall (no reads, no pings), then resume: a short stall must lose nothing; a long
      // one (past the 30 s client timeout) gets the connections closed, and they reconnect.
      stalls += 1;
      victim.stalled = true;
      victim.worker.kill("SIGSTOP");
      setTimeout(() => {
        victim.worker.kill("SIGCONT");
        victim.stalled = false;
      }, Math.random() < 0.5 ? 8_000 : 40_000);
    }
    console.log(
      `${new Date().toISOString()} announced ${announced}, kills ${kills}, stalls ${stalls}, server ${rss(server.pid)} KiB, ${readdirSync(`/proc/${server.pid}/fd`).length} fds`,
    );
  }
  await sleep(45_000); // let the last stall resume and everything settle
  clearInterval(announcer);
  const lastAnnounced = announced;
  await quiet(true);

  const settledRss = rss(server.pid);
  const settledFds = readdirSync(`/proc/${server.pid}/fd`).length;
  console.log(`end, quiet: ${settledRss} KiB, ${settledFds} fds`);
  mallocStats(server.pid, "at the end");
  for (const entry of workers.values()) entry.worker.send({ type: "report", lastAnnounced });
  await new Promise((resolve) => {
    const check = setInterval(() => {
      if ([...workers.values()].every((w) => w.reported)) {
        clearInterval(check);
        resolve();
      }
    }, 100);
  });
  const live = results.filter((c) => c.connected).length;
  const steady = results.filter((c) => c.steady);
  const gaps = steady.filter((c) => c.missing > 0);
  console.log(`\nafter ${minutes} min: ${lastAnnounced} announcements, ${kills} kills, ${stalls} stalls`);
  console.log(`server memory, ${connections} connections warm and quiet: ${fullRss} KiB after the warm-up, ${settledRss} KiB at the end (${(((settledRss - fullRss) / fullRss) * 100).toFixed(1)}%)`);
  console.log(`server fds at the end: ${settledFds} for ${live} live connections (${fullFds} for ${connections} at the start; Server-Sent Events and Long Polling also hold their POST connections)`);
  console.log(`connections connected throughout: ${steady.length}; with a missing announcement: ${gaps.length}`);
  console.log(`connections reconnected or replaced during the run: ${results.length - steady.length}`);
  for (const entry of workers.values()) entry.worker.kill("SIGTERM");
  await sleep(1000);
  // Long Polling connections end at their next poll or after the disconnect timeout.
  await sleep(20_000);
  const closedFds = readdirSync(`/proc/${server.pid}/fd`).length;
  console.log(`server fds after every client left: ${closedFds} (baseline ${baselineFds}); memory ${rss(server.pid)} KiB (${baselineRss} before any client)`);
  server.kill("SIGTERM");
  process.exit(gaps.length === 0 ? 0 : 1);
}

await main();
