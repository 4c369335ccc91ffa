// Graceful shutdown with the official client: examples/chat stopped with SIGTERM tells
// every client it may reconnect, and clients built withAutomaticReconnect() come back to
// the restarted server on each transport and work again.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as signalR from "@microsoft/signalr";
import { startExample } from "./server.js";

const transports = ["WebSockets", "ServerSentEvents", "LongPolling"];

function withTimeout(promise, ms, what) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)),
  ]);
}

test("clients with automatic reconnect come back to a restarted server over every transport", { timeout: 60_000 }, async () => {
  let server = await startExample("chat");
  const port = new URL(server.url).port;
  const clients = [];
  try {
    for (const transport of transports) {
      const events = { closeMessages: 0 };
      const logger = {
        log(level, message) {
          // The server said goodbye (rather than vanishing): a Close allowing reconnect.
          if (message.includes("data received") && message.includes('{"type":7,"allowReconnect":true}')) {
            events.closeMessages += 1;
          }
        },
      };
      const connection = new signalR.HubConnectionBuilder()
        .withUrl(`${server.url}/chat`, { transport: signalR.HttpTransportType[transport], logMessageContent: true })
        .withAutomaticReconnect([0, 500, 1000, 1000, 1000, 2000, 2000, 5000])
        .configureLogging(logger)
        .build();
      events.reconnecting = new Promise((resolve) => connection.onreconnecting(resolve));
      events.reconnected = new Promise((resolve) => connection.onreconnected(resolve));
      events.closed = false;
      connection.onclose(() => {
        events.closed = true;
      });
      await connection.start();
      clients.push({ transport, connection, events, firstId: connection.connectionId });
    }

    const stopped = Date.now();
    await server.stop(); // SIGTERM: the example shuts down gracefully and exits
    const took = Date.now() - stopped;
    assert.ok(took < 10_000, `the server took ${took} ms to stop`);
    for (const { transport, events } of clients) {
      // A Close that allows reconnecting starts the client's reconnect, not its end.
      await withTimeout(events.reconnecting, 5_000, `${transport}: reconnecting`);
      assert.equal(events.closed, false, `${transport}: the client gave up instead of reconnecting`);
      assert.equal(events.closeMessages, 1, `${transport}: the server sent no Close allowing reconnect`);
    }

    server = await startExample("chat", ["--listen", `127.0.0.1:${port}`]);
    for (const { transport, connection, events, firstId } of clients) {
      await withTimeout(events.reconnected, 20_000, `${transport}: reconnected`);
      assert.equal(connection.state, signalR.HubConnectionState.Connected, transport);
      assert.notEqual(connection.connectionId, firstId, `${transport}: a new connection on the new server`);
      const echoed = new Promise((resolve) =>
        connection.on("ReceiveMessage", (user, text) => {
          if (user === transport) resolve([user, text]);
        }),
      );
      await connection.invoke("SendMessage", transport, "back again");
      assert.deepEqual(await withTimeout(echoed, 5_000, `${transport}: a message after reconnecting`), [transport, "back again"]);
    }
  } finally {
    for (const { connection } of clients) {
      await connection.stop();
    }
    await server.stop();
  }
});
