// Starts one of the workspace's example servers on a free port and stops it afterwards.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const targetDir = process.env.CARGO_TARGET_DIR
  ? path.resolve(process.env.CARGO_TARGET_DIR)
  : path.resolve(here, "..", "..", "target");
const profile = process.env.SIGNALR_TEST_PROFILE ?? "debug";

/**
 * Runs `examples/<name>` with `--listen 127.0.0.1:0`; resolves to { url, stop, log }.
 * With `env`, those variables are added to the server's environment; with `captureLog`,
 * its standard error is kept (`log()` returns all of it so far) instead of shown.
 */
export function startExample(name, extraArgs = [], { env = {}, captureLog = false } = {}) {
  const binary = path.join(targetDir, profile, "examples", name);
  const child = spawn(binary, ["--listen", "127.0.0.1:0", ...extraArgs], {
    stdio: ["ignore", "pipe", captureLog ? "pipe" : "inherit"],
    env: { ...process.env, ...env },
  });
  let log = "";
  if (captureLog) child.stderr.on("data", (chunk) => (log += chunk));
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} did not print its address within 20 s; output: ${output}`));
    }, 20000);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${binary} (build it with cargo build --examples): ${err.message}`));
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening; output: ${output}`));
    });
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        resolve({
          url: match[1],
          log: () => log,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done();
              child.once("exit", () => done());
              child.kill("SIGTERM");
            }),
        });
      }
    });
  });
}
