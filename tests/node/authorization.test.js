// Authorization on /authorizedhub (contract C.1) with the official client: tokens from
// /generateJwtToken?user=…&role=…, the hub refusing callers without one, AdminOnly
// refused (with .NET's text, the connection staying up) for callers without the admin
// role, WhoAmI and SendToUser by the token's user, over every transport.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as signalR from "@microsoft/signalr";
import { startExample } from "./server.js";

const transports = ["WebSockets", "ServerSentEvents", "LongPolling"];

async function token(server, user, role) {
  const query = new URLSearchParams({ user, ...(role ? { role } : {}) });
  const response = await fetch(`${server.url}/generateJwtToken?${query}`);
  assert.equal(response.status, 200);
  return response.text();
}

function connect(server, transport, accessToken) {
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(`${server.url}/authorizedhub`, {
      transport: signalR.HttpTransportType[transport],
      ...(accessToken ? { accessTokenFactory: () => accessToken } : {}),
    })
    .configureLogging(signalR.LogLevel.None)
    .build();
  return connection;
}

test("/authorizedhub: no token, no connection (401)", async () => {
  const server = await startExample("conformance");
  try {
    const negotiate = await fetch(`${server.url}/authorizedhub/negotiate?negotiateVersion=1`, { method: "POST" });
    assert.equal(negotiate.status, 401);
    const connection = connect(server, "WebSockets");
    await assert.rejects(connection.start(), /401/);
  } finally {
    await server.stop();
  }
});

for (const transport of transports) {
  test(`/authorizedhub over ${transport}: AdminOnly needs the admin role, a refusal keeps the connection`, async () => {
    const server = await startExample("conformance");
    const connections = [];
    try {
      const user = connect(server, transport, await token(server, "alice"));
      const admin = connect(server, transport, await token(server, "root", "admin"));
      connections.push(user, admin);
      await Promise.all([user.start(), admin.start()]);
      await assert.rejects(
        user.invoke("AdminOnly", "let me in"),
        (error) => error.message === "Failed to invoke 'AdminOnly' because user is unauthorized",
      );
      assert.equal(user.state, signalR.HubConnectionState.Connected);
      assert.equal(await user.invoke("WhoAmI"), "alice");
      assert.equal(await admin.invoke("AdminOnly", "welcome"), "welcome");
      assert.equal(await admin.invoke("WhoAmI"), "root");
    } finally {
      await Promise.all(connections.map((c) => c.stop()));
      await server.stop();
    }
  });
}

test("/authorizedhub: SendToUser reaches every connection of that user and nobody else", async () => {
  const server = await startExample("conformance");
  const connections = [];
  try {
    const received = { alice1: [], alice2: [], bob: [] };
    const make = async (name, transport, user) => {
      const connection = connect(server, transport, await token(server, user));
      connection.on("UserMessage", (message) => {
        received[name].push(message);
      });
      connections.push(connection);
      await connection.start();
      return connection;
    };
    await make("alice1", "WebSockets", "alice");
    await make("alice2", "LongPolling", "alice");
    const bob = await make("bob", "ServerSentEvents", "bob");
    await bob.invoke("SendToUser", "alice", "for every device of alice");
    const deadline = Date.now() + 5000;
    while ((received.alice1.length < 1 || received.alice2.length < 1) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(received, {
      alice1: ["for every device of alice"],
      alice2: ["for every device of alice"],
      bob: [],
    });
  } finally {
    await Promise.all(connections.map((c) => c.stop()));
    await server.stop();
  }
});

test("with close_on_authentication_expiration the connection closes when its token expires", { timeout: 30_000 }, async () => {
  const server = await startExample("conformance");
  try {
    const accessToken = await token(server, "alice");
    const issued = Date.now();
    const connection = new signalR.HubConnectionBuilder()
      .withUrl(`${server.url}/authorizedhub-expiring`, {
        transport: signalR.HttpTransportType.WebSockets,
        accessTokenFactory: () => accessToken,
      })
      .configureLogging(signalR.LogLevel.None)
      .build();
    const closed = new Promise((resolve) => connection.onclose(resolve));
    await connection.start();
    assert.equal(await connection.invoke("WhoAmI"), "alice");
    const error = await closed;
    const after = Date.now() - issued;
    // The test tokens expire 5 s after they are issued (whole seconds).
    assert.ok(after >= 3_900 && after < 8_000, `closed after ${after} ms`);
    assert.match(String(error), /Connection closed with an error\. AuthenticationExpired/);
  } finally {
    await server.stop();
  }
});
