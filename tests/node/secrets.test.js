// Secrets stay out of logs: the conformance server runs with RUST_LOG=trace while the
// official client connects over every transport with an access token, and neither the
// access token nor any connection token appears anywhere in what the server logged.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as signalR from "@microsoft/signalr";
import { startExample } from "./server.js";

/** The default HTTP client, keeping every connection token negotiate hands out. */
class RecordingHttpClient extends signalR.DefaultHttpClient {
  constructor(tokens) {
    super(signalR.NullLogger.instance);
    this.tokens = tokens;
  }

  async send(request) {
    const response = await super.send(request);
    if (request.url.includes("/negotiate") && typeof response.content === "string") {
      const body = JSON.parse(response.content);
      if (body.connectionToken) this.tokens.push(body.connectionToken);
    }
    return response;
  }
}

test("with RUST_LOG=trace no access token or connection token reaches the server's log", { timeout: 60_000 }, async () => {
  const server = await startExample("conformance", [], { env: { RUST_LOG: "trace" }, captureLog: true });
  const accessTokens = [];
  const connectionTokens = [];
  try {
    for (const transport of ["WebSockets", "ServerSentEvents", "LongPolling"]) {
      const accessToken = await (await fetch(`${server.url}/generateJwtToken`)).text();
      accessTokens.push(accessToken);
      const connection = new signalR.HubConnectionBuilder()
        .withUrl(`${server.url}/authorizedhub`, {
          transport: signalR.HttpTransportType[transport],
          accessTokenFactory: () => accessToken,
          httpClient: new RecordingHttpClient(connectionTokens),
        })
        .configureLogging(signalR.LogLevel.None)
        .build();
      await connection.start();
      assert.equal(await connection.invoke("Echo", `over ${transport}`), `over ${transport}`);
      await connection.stop();
    }
  } finally {
    await server.stop();
  }
  const log = server.log();
  assert.equal(connectionTokens.length, 3, "every negotiate handed out a token");
  // The log is a real trace of the three connections, not an empty one.
  const count = (text) => log.split(text).length - 1;
  assert.equal(count("negotiated a connection"), 3, log);
  assert.equal(count("a transport connected"), 3, log);
  assert.equal(count("hub handshake completed"), 3, log);
  assert.ok(count("TRACE") >= 3, "the invocations are traced");
  for (const secret of [...accessTokens, ...connectionTokens]) {
    assert.ok(!log.includes(secret), `a secret appears in the log: ${secret.slice(0, 8)}…`);
  }
});
