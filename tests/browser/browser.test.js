// The official @microsoft/signalr *browser bundle* in headless Chromium against
// examples/conformance. The test page is served by a tiny static server on another port,
// so every request is cross-origin: CORS (with credentials, the client's default) is
// exercised on negotiate, WebSockets, Server-Sent Events and Long Polling.
//
// Needs: Debian's `chromium` at /usr/bin/chromium (or CHROMIUM_PATH), `npm ci` here
// (playwright-core; it never downloads browsers) and in ../node (the @microsoft/signalr
// bundles are served from ../node/node_modules), and `cargo build --examples`.
// Without Chromium the suite is skipped, unless CI is set: then it fails.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startExample } from "../node/server.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const screenshotPath =
  process.env.BROWSER_SCREENSHOT ?? path.join(os.tmpdir(), "signalr-browser-status.png");
const microsoft = path.resolve(here, "..", "node", "node_modules", "@microsoft");
const assets = {
  "/signalr.js": path.join(microsoft, "signalr", "dist", "browser", "signalr.js"),
  "/signalr-protocol-msgpack.js": path.join(
    microsoft, "signalr-protocol-msgpack", "dist", "browser", "signalr-protocol-msgpack.js"),
  "/page.js": path.join(here, "page.js"),
};
const indexHtml = `<!doctype html>
<html><head><meta charset="utf-8"><title>SignalR browser test</title>
<style>
  body { font: 16px system-ui, sans-serif; margin: 24px; }
  .good { color: #176b2c; } .bad { color: #b00020; }
  table { border-collapse: collapse; } td, th { border: 1px solid #bbb; padding: 4px 10px; text-align: left; }
</style>
<script src="/signalr.js"></script>
<script src="/signalr-protocol-msgpack.js"></script>
<script src="/page.js"></script>
</head><body><p>waiting for the test…</p></body></html>`;

const combinations = [
  ["WebSockets", "json"],
  ["WebSockets", "messagepack"],
  ["ServerSentEvents", "json"], // MessagePack is binary: not over Server-Sent Events
  ["LongPolling", "json"],
  ["LongPolling", "messagepack"],
];

const skip =
  !existsSync(chromiumPath) && !process.env.CI
    ? `${chromiumPath} not found, browser tests skipped (install: apt-get install -y chromium; ` +
      `with CI set this is a failure instead)`
    : false;
if (skip) console.log(`# browser tests: ${skip}`);

/** Serves the test page and the official browser bundles on 127.0.0.1 (its own port). */
function startStaticServer(port = 0) {
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, "http://localhost");
    if (request.method !== "GET") {
      response.writeHead(405).end();
    } else if (url.pathname === "/" || url.pathname === "/index.html") {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(indexHtml);
    } else if (assets[url.pathname]) {
      response
        .writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" })
        .end(readFileSync(assets[url.pathname]));
    } else {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        stop: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
      });
    });
  });
}

describe("official SignalR browser client in headless Chromium, cross-origin", { skip }, () => {
  let signalrServer;
  let staticServer;
  let browser;
  let page;
  const consoleLines = []; // everything the page logs, for diagnostics and the CORS check
  const requests = []; // { url, authorization } of every request the page makes
  const summary = [];

  before(async () => {
    if (!existsSync(chromiumPath)) {
      throw new Error(`CI is set but ${chromiumPath} does not exist: apt-get install -y chromium`);
    }
    for (const [name, file] of Object.entries(assets)) {
      if (!existsSync(file)) throw new Error(`${name}: ${file} is missing (run npm ci in tests/node)`);
    }
    const { chromium } = await import("playwright-core");
    // allSettled: whatever did start is stopped by after(), even if another part failed
    const started = await Promise.allSettled([
      startExample("conformance"),
      startStaticServer(),
      chromium.launch({
        executablePath: chromiumPath,
        args: [
          "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ],
        timeout: 30000,
      }),
    ]);
    [signalrServer, staticServer, browser] = started.map((s) => (s.status === "fulfilled" ? s.value : undefined));
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    assert.notEqual(new URL(signalrServer.url).origin, new URL(staticServer.url).origin);
    page = await browser.newPage();
    page.on("console", (message) => consoleLines.push(`[${message.type()}] ${message.text()}`));
    page.on("pageerror", (error) => consoleLines.push(`[pageerror] ${error.message}`));
    // headers() is synchronous (allHeaders() may resolve after the case is checked) and
    // holds the headers the page set itself, such as Authorization.
    page.on("request", (request) => requests.push({
      url: request.url(), method: request.method(), authorization: request.headers().authorization ?? null,
    }));
    page.on("websocket", (socket) => requests.push({ url: socket.url(), method: "WEBSOCKET", authorization: null }));
    await page.goto(`${staticServer.url}/`);
    const loaded = await page.evaluate(() => ({
      version: window.signalR?.VERSION,
      msgpack: typeof window.signalR?.protocols?.msgpack?.MessagePackHubProtocol,
      runCase: typeof window.runCase,
    }));
    assert.deepEqual(
      { msgpack: loaded.msgpack, runCase: loaded.runCase },
      { msgpack: "function", runCase: "function" },
      `the page did not load the bundles: ${consoleLines.join("\n")}`,
    );
    console.log(`# @microsoft/signalr ${loaded.version} in ${browser.version()}; ` +
      `page ${staticServer.url}, server ${signalrServer.url}`);
  }, { timeout: 40000 });

  after(async () => {
    await browser?.close();
    await Promise.all([signalrServer?.stop(), staticServer?.stop()]);
  });

  for (const [transport, protocol] of combinations) {
    describe(`${transport} with ${protocol}`, () => {
      let result;
      let logged;
      let sent; // requests of this case
      const row = { name: `${transport} / ${protocol}`, passed: 0, failed: [] };
      summary.push(row);

      before(async () => {
        const from = consoleLines.length;
        const firstRequest = requests.length;
        result = await page.evaluate(
          (args) => window.runCase(args),
          { base: signalrServer.url, transport, protocol },
        );
        logged = consoleLines.slice(from);
        sent = requests.slice(firstRequest);
      }, { timeout: 30000 });

      /** One check on one step's outcome; records the outcome for the status page. */
      function check(name, stepName, verify) {
        test(name, () => {
          try {
            const outcome = result.steps[stepName];
            assert.ok(outcome, `step "${stepName}" did not run (connection not started?)`);
            assert.ok(outcome.ok, `step "${stepName}" failed in the page: ${outcome.error}` +
              (logged.length ? `\npage console (first lines):\n${logged.slice(0, 4).join("\n")}` : ""));
            verify(outcome.value);
            row.passed += 1;
          } catch (error) {
            row.failed.push(name);
            throw error;
          }
        });
      }

      check("connects to /testhub (negotiate + transport, cross-origin)", "start", (value) => {
        assert.equal(value.state, "Connected");
        assert.match(value.connectionId, /^[A-Za-z0-9_-]+$/);
      });
      check("invoke Echo", "Echo", (value) => assert.equal(value, "你好，世界！"));
      check("InvokeWithString calls the client's Message", "InvokeWithString", (value) =>
        assert.equal(value, "message from the browser"));
      check("stream Stream yields a, b, c", "Stream", (value) => assert.deepEqual(value, ["a", "b", "c"]));
      check("upload to StreamingConcat with signalR.Subject", "StreamingConcat", (value) =>
        assert.equal(value, "Hello world!"));
      check("client result through GET /clientresult/<id>", "clientresult over HTTP", (value) =>
        assert.deepEqual(value, { status: 200, body: "10" }));
      check("client result through GetClientResult", "GetClientResult", (value) => assert.equal(value, 42));
      check("GetActiveTransportName", "GetActiveTransportName", (value) => assert.equal(value, transport));
      check("credentials: the negotiate cookie reaches the hub", "GetCookie", (value) =>
        assert.equal(value, "testValue"));
      check("stops cleanly", "stop", (value) =>
        assert.deepEqual(value, { state: "Disconnected", closeError: null }));
      check("/authorizedhub with accessTokenFactory fetching /generateJwtToken", "authorized Echo", (value) => {
        assert.equal(value.echo, "secret");
        assert.ok(value.tokenRequests >= 1);
      });
      check("/authorizedhub without a token is refused with 401", "unauthorized start", (value) => {
        assert.equal(value.rejected, true, "start() without a token must fail");
        assert.match(value.message, /Unauthorized: Status code '401'/);
        assert.equal(value.state, "Disconnected");
      });
      check("the token travels as the browser client sends it", "authorized Echo", () => {
        // transport requests (not negotiate, not preflights): the path is exactly the hub's
        const hub = sent.filter((r) => r.method !== "OPTIONS" && new URL(r.url).pathname.toLowerCase() === "/authorizedhub");
        assert.ok(hub.length > 0, `no transport request to /authorizedhub seen: ${JSON.stringify(sent.map((r) => r.url))}`);
        const withQuery = hub.filter((r) => new URL(r.url).searchParams.has("access_token"));
        const withHeader = hub.filter((r) => /^Bearer \S+/.test(r.authorization ?? ""));
        if (transport === "LongPolling") {
          assert.ok(withHeader.length > 0 && withQuery.length === 0,
            `LongPolling should use Authorization: Bearer: ${JSON.stringify(hub)}`);
        } else {
          assert.ok(withQuery.length > 0, `${transport} should put the token in access_token: ${JSON.stringify(hub)}`);
        }
        const negotiate = sent.filter((r) => /\/authorizedhub\/negotiate/i.test(r.url) && r.method === "POST");
        assert.ok(negotiate.some((r) => /^Bearer \S+/.test(r.authorization ?? "")), "negotiate carries Authorization: Bearer");
      });
      test("no request was blocked by CORS", () => {
        const blocked = logged.filter((line) => /CORS|Access-Control/i.test(line));
        try {
          assert.deepEqual(blocked, []);
          row.passed += 1;
        } catch (error) {
          row.failed.push("CORS");
          throw error;
        }
      });
    });
  }

  test("status page screenshot", async () => {
    const allPassed = await page.evaluate((rows) => window.showStatus(rows), summary);
    await page.setViewportSize({ width: 760, height: 360 });
    await page.screenshot({ path: screenshotPath });
    console.log(`# status page screenshot: ${screenshotPath}`);
    assert.equal(await page.title(), allPassed ? "all passed" : "failures");
    assert.ok(allPassed, `failed checks: ${JSON.stringify(summary.filter((row) => row.failed.length))}`);
  });
});

// Allowed origins (contract C.2): `/testhub-origins` accepts only pages from
// http://allowed.localhost:5555 (Chromium resolves *.localhost to the loopback address).
describe("allowed origins on /testhub-origins in headless Chromium", { skip }, () => {
  let signalrServer;
  let otherOrigin;
  let allowedOrigin;
  let browser;

  before(async () => {
    const { chromium } = await import("playwright-core");
    signalrServer = await startExample("conformance");
    otherOrigin = await startStaticServer();
    allowedOrigin = await startStaticServer(5555).catch((error) => {
      throw new Error(`the allowed origin needs port 5555 on 127.0.0.1: ${error.message}`);
    });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
      timeout: 30000,
    });
  }, { timeout: 40000 });

  after(async () => {
    await browser?.close();
    await Promise.all([signalrServer?.stop(), otherOrigin?.stop(), allowedOrigin?.stop()]);
  });

  /** Opens `pageUrl` and, in the page, connects to /testhub-origins over `transport`. */
  async function connectFrom(pageUrl, transport, skipNegotiation = false) {
    const page = await browser.newPage();
    try {
      await page.goto(pageUrl);
      return await page.evaluate(async ({ base, transport, skipNegotiation }) => {
        const connection = new signalR.HubConnectionBuilder()
          .withUrl(`${base}/testhub-origins`, { transport: signalR.HttpTransportType[transport], skipNegotiation })
          .configureLogging(signalR.LogLevel.None)
          .build();
        try {
          await connection.start();
          const echoed = await connection.invoke("Echo", "from an allowed page");
          await connection.stop();
          return { ok: true, echoed };
        } catch (error) {
          return { ok: false, error: String(error) };
        }
      }, { base: signalrServer.url, transport, skipNegotiation });
    } finally {
      await page.close();
    }
  }

  for (const transport of ["WebSockets", "ServerSentEvents", "LongPolling"]) {
    test(`a page from another origin cannot negotiate (${transport}): 403`, async () => {
      const result = await connectFrom(`${otherOrigin.url}/`, transport);
      assert.equal(result.ok, false);
      assert.match(result.error, /403/);
    });
    test(`a page from the allowed origin connects (${transport})`, async () => {
      const result = await connectFrom("http://allowed.localhost:5555/", transport);
      assert.deepEqual(result, { ok: true, echoed: "from an allowed page" });
    });
  }

  test("a WebSocket opened without negotiate from another origin is refused too", async () => {
    const refused = await connectFrom(`${otherOrigin.url}/`, "WebSockets", true);
    assert.equal(refused.ok, false, JSON.stringify(refused));
    const allowed = await connectFrom("http://allowed.localhost:5555/", "WebSockets", true);
    assert.deepEqual(allowed, { ok: true, echoed: "from an allowed page" });
  });
});

// Authorization (contract C.1) from a page on another origin: tokens from
// /generateJwtToken, AdminOnly refused without the admin role (the connection stays up),
// WhoAmI answering the token's user, over every transport.
describe("authorization on /authorizedhub in headless Chromium", { skip }, () => {
  let signalrServer;
  let pageServer;
  let browser;
  let page;

  before(async () => {
    const { chromium } = await import("playwright-core");
    signalrServer = await startExample("conformance");
    pageServer = await startStaticServer();
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
      timeout: 30000,
    });
    page = await browser.newPage();
    await page.goto(`${pageServer.url}/`);
  }, { timeout: 40000 });

  after(async () => {
    await browser?.close();
    await Promise.all([signalrServer?.stop(), pageServer?.stop()]);
  });

  for (const transport of ["WebSockets", "ServerSentEvents", "LongPolling"]) {
    test(`AdminOnly needs the admin role, WhoAmI is the token's user (${transport})`, async () => {
      const result = await page.evaluate(async ({ base, transport }) => {
        const connect = async (query) => {
          const token = await (await fetch(`${base}/generateJwtToken?${query}`)).text();
          const connection = new signalR.HubConnectionBuilder()
            .withUrl(`${base}/authorizedhub`, {
              transport: signalR.HttpTransportType[transport],
              accessTokenFactory: () => token,
            })
            .configureLogging(signalR.LogLevel.None)
            .build();
          await connection.start();
          return connection;
        };
        const outcome = async (promise) => promise.then((value) => ({ value }), (error) => ({ error: error.message }));
        const user = await connect("user=alice");
        const admin = await connect("user=root&role=admin");
        const refused = await outcome(user.invoke("AdminOnly", "let me in"));
        const stillUp = user.state;
        const whoAmI = await user.invoke("WhoAmI");
        const allowed = await outcome(admin.invoke("AdminOnly", "welcome"));
        await Promise.all([user.stop(), admin.stop()]);
        const anonymous = new signalR.HubConnectionBuilder()
          .withUrl(`${base}/authorizedhub`, { transport: signalR.HttpTransportType[transport] })
          .configureLogging(signalR.LogLevel.None)
          .build();
        const noToken = await outcome(anonymous.start());
        return { refused, stillUp, whoAmI, allowed, noToken };
      }, { base: signalrServer.url, transport });
      assert.deepEqual(result.refused, { error: "Failed to invoke 'AdminOnly' because user is unauthorized" });
      assert.equal(result.stillUp, "Connected");
      assert.equal(result.whoAmI, "alice");
      assert.deepEqual(result.allowed, { value: "welcome" });
      assert.match(result.noToken.error ?? "", /401/);
    });
  }
});
