// Runs inside the browser page (served from a different origin than the SignalR server),
// next to the official browser bundles `signalr.js` and `signalr-protocol-msgpack.js`.
// `window.runCase({ base, transport, protocol })` exercises one transport × protocol
// combination and resolves to a JSON-friendly object: { steps: { name: { ok, value | error } } }.
// It never rejects: every step records its own outcome, so node can assert each one.
"use strict";

const STEP_TIMEOUT_MS = 10000;

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function describeError(error) {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

window.runCase = async function runCase({ base, transport, protocol }) {
  const steps = {};
  const started = performance.now();
  async function step(name, body) {
    const t0 = performance.now();
    try {
      const value = await withTimeout(Promise.resolve().then(body), name);
      steps[name] = { ok: true, value: value === undefined ? null : value, ms: Math.round(performance.now() - t0) };
    } catch (error) {
      steps[name] = { ok: false, error: describeError(error), ms: Math.round(performance.now() - t0) };
    }
    return steps[name];
  }

  const build = (path, extraOptions = {}) =>
    new signalR.HubConnectionBuilder()
      .withUrl(base + path, { transport: signalR.HttpTransportType[transport], ...extraOptions })
      .withHubProtocol(
        protocol === "messagepack"
          ? new signalR.protocols.msgpack.MessagePackHubProtocol()
          : new signalR.JsonHubProtocol(),
      )
      .configureLogging(signalR.LogLevel.Warning)
      .build();

  // ---- /testhub -------------------------------------------------------------------------
  const connection = build("/testhub");
  connection.on("Result", () => 10); // GET /clientresult/{id}
  connection.on("Compute", (value) => value * 2); // GetClientResult(value)
  let closeError = "not closed";
  const closed = new Promise((resolve) => {
    connection.onclose((error) => {
      closeError = error === undefined ? undefined : describeError(error);
      resolve();
    });
  });

  const start = await step("start", async () => {
    await connection.start();
    return { connectionId: connection.connectionId, state: connection.state };
  });

  if (start.ok) {
    await step("Echo", () => connection.invoke("Echo", "你好，世界！"));

    await step("InvokeWithString", async () => {
      const received = new Promise((resolve) => {
        // client-side handler names are case-insensitive
        const handler = (message) => {
          connection.off("message", handler);
          resolve(message);
        };
        connection.on("message", handler);
      });
      await connection.invoke("InvokeWithString", "message from the browser");
      return await received;
    });

    await step("Stream", () =>
      new Promise((resolve, reject) => {
        const items = [];
        connection.stream("Stream").subscribe({
          next: (item) => items.push(item),
          complete: () => resolve(items),
          error: reject,
        });
      }),
    );

    await step("StreamingConcat", async () => {
      const subject = new signalR.Subject();
      const result = connection.invoke("StreamingConcat", subject);
      subject.next("Hello ");
      subject.next("world");
      subject.next("!");
      subject.complete();
      return await result;
    });

    // Cross-origin fetch from the page (a simple CORS GET without credentials).
    await step("clientresult over HTTP", async () => {
      const response = await fetch(`${base}/clientresult/${encodeURIComponent(connection.connectionId)}`);
      return { status: response.status, body: await response.text() };
    });

    await step("GetClientResult", () => connection.invoke("GetClientResult", 21));

    await step("GetActiveTransportName", () => connection.invoke("GetActiveTransportName"));

    // The negotiate response sets `testCookie`; the browser client sends credentials
    // (withCredentials) by default, so the cookie must reach the hub on every transport.
    await step("GetCookie", () => connection.invoke("GetCookie", "testCookie"));

    await step("stop", async () => {
      await connection.stop();
      await closed;
      return { state: connection.state, closeError: closeError === undefined ? null : closeError };
    });
  }

  // ---- /authorizedhub -------------------------------------------------------------------
  let tokenRequests = 0;
  const authorized = build("/authorizedhub", {
    accessTokenFactory: async () => {
      tokenRequests += 1;
      const response = await fetch(`${base}/generateJwtToken`);
      if (!response.ok) throw new Error(`/generateJwtToken answered ${response.status}`);
      return await response.text();
    },
  });
  await step("authorized Echo", async () => {
    await authorized.start();
    try {
      return { echo: await authorized.invoke("Echo", "secret"), tokenRequests };
    } finally {
      await authorized.stop();
    }
  });

  const anonymous = build("/authorizedhub");
  await step("unauthorized start", async () => {
    try {
      await anonymous.start();
    } catch (error) {
      return { rejected: true, message: error && error.message, state: anonymous.state };
    }
    await anonymous.stop();
    return { rejected: false };
  });

  return { steps, ms: Math.round(performance.now() - started) };
};

window.showStatus = function showStatus(summary) {
  const allPassed = summary.every((row) => row.failed.length === 0);
  document.title = allPassed ? "all passed" : "failures";
  const rows = summary
    .map(
      (row) =>
        `<tr class="${row.failed.length ? "bad" : "good"}"><td>${row.name}</td><td>${row.passed}</td>` +
        `<td>${row.failed.length ? row.failed.join(", ") : "–"}</td></tr>`,
    )
    .join("");
  document.body.innerHTML =
    `<h1 class="${allPassed ? "good" : "bad"}">${allPassed ? "all passed" : "some checks failed"}</h1>` +
    `<p>official @microsoft/signalr ${signalR.VERSION} in ${navigator.userAgent.match(/(Headless)?Chrom\w*\/[\d.]+/)?.[0] ?? "browser"}</p>` +
    `<table><tr><th>transport / protocol</th><th>passed</th><th>failed</th></tr>${rows}</table>`;
  return allPassed;
};
