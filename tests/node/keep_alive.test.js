// Keep-alive with the default intervals on both sides, as a deployment runs them: the
// official client (server timeout 30 s, keep-alive 15 s) idles against examples/chat
// (keep-alive 15 s, client timeout 30 s) for more than three keep-alive intervals. The
// server must ping within one interval of its last write every time, so the client's
// server timeout never comes near.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as signalR from "@microsoft/signalr";
import { startExample } from "./server.js";

const KEEP_ALIVE_MS = 15_000;
// The server checks at its deadline; allow for scheduling and the network on a busy
// machine, and stay far from the 30 s it took before the fix.
const SLACK_MS = 1_500;
const IDLE_MS = 50_000;

let server;
before(async () => {
  server = await startExample("chat");
});
after(async () => {
  await server?.stop();
});

/** A connection whose logger records when each Ping record arrived. */
function pingRecordingConnection(transport) {
  const pings = [];
  const logger = {
    log(level, message) {
      if (level === signalR.LogLevel.Trace && message.includes("data received") && message.includes('{"type":6}')) {
        pings.push(Date.now());
      }
    },
  };
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(`${server.url}/chat`, {
      transport: signalR.HttpTransportType[transport],
      logMessageContent: true,
    })
    .configureLogging(logger)
    .build();
  return { connection, pings };
}

async function idleAndRecord(transport) {
  const { connection, pings } = pingRecordingConnection(transport);
  let closed = null;
  connection.onclose((error) => {
    closed = error ?? new Error("closed");
  });
  await connection.start();
  const started = Date.now();
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const state = connection.state;
  const closedWhileIdle = closed;
  await connection.stop();
  return { started, pings, state, closed: closedWhileIdle };
}

test(
  "an idle client gets a ping one keep-alive interval after the handshake and then every interval, over WebSockets and Server-Sent Events",
  { timeout: IDLE_MS + 30_000 },
  async () => {
    const results = await Promise.all([idleAndRecord("WebSockets"), idleAndRecord("ServerSentEvents")]);
    for (const [transport, { started, pings, state, closed }] of [
      ["WebSockets", results[0]],
      ["ServerSentEvents", results[1]],
    ]) {
      assert.equal(closed, null, `${transport}: the connection closed while idle: ${closed}`);
      assert.equal(state, signalR.HubConnectionState.Connected, `${transport}: not connected after idling`);
      assert.ok(pings.length >= 3, `${transport}: ${pings.length} pings in ${IDLE_MS} ms`);
      // The handshake response is the server's last write before the first ping.
      const gaps = [pings[0] - started, ...pings.slice(1).map((at, i) => at - pings[i])];
      for (const [i, gap] of gaps.entries()) {
        assert.ok(
          gap <= KEEP_ALIVE_MS + SLACK_MS,
          `${transport}: ping ${i + 1} came ${gap} ms after the previous write (gaps: ${gaps.join(", ")})`,
        );
      }
      for (const [i, gap] of gaps.slice(1).entries()) {
        assert.ok(
          gap >= KEEP_ALIVE_MS - SLACK_MS,
          `${transport}: ping ${i + 2} came only ${gap} ms after the previous one (gaps: ${gaps.join(", ")})`,
        );
      }
    }
  },
);
