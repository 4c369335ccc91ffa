// MilesLong Warehouse in headless Chromium: the example's own page (with the official
// browser client it serves from its npm package) driven through sign-in for employees of
// different sections and roles and for a supervisor. Each sees only what is meant for
// them; an acknowledgement reaches the supervisor's view; a forklift operator accepts and
// declines tasks on the page; a reload shows what is still open. Screenshots (desktop and
// phone viewports) are saved in WAREHOUSE_SCREENSHOTS (default target/screenshots).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startExample } from "../node/server.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const screenshots = process.env.WAREHOUSE_SCREENSHOTS ?? path.resolve(here, "..", "..", "target", "screenshots");
const skip = !existsSync(chromiumPath) && !process.env.CI ? `${chromiumPath} not found` : false;

let server;
let browser;
before(async () => {
  if (skip) return;
  mkdirSync(screenshots, { recursive: true });
  const { chromium } = await import("playwright-core");
  [server, browser] = await Promise.all([
    startExample("warehouse", ["--simulate-every", "0", "--task-answer-secs", "8"]),
    chromium.launch({
      executablePath: chromiumPath,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
      timeout: 30000,
    }),
  ]);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A page signed in as `name` (in its own browser context: its own session storage). */
async function employee(name, section, role, viewport = { width: 1280, height: 960 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(server.url);
  await page.fill("#name", name);
  await page.selectOption("#section", section);
  await page.selectOption("#role", role);
  await page.click("#sign-in-button");
  await page.waitForSelector('#state[data-state="connected"]', { timeout: 15000 });
  return { page, context, errors };
}

const feedTitles = (page) => page.$$eval("#feed .notification .title", (nodes) => nodes.map((n) => n.textContent));

async function waitForTitle(page, title) {
  await page.waitForFunction(
    (wanted) => [...document.querySelectorAll("#feed .notification .title")].some((n) => n.textContent === wanted),
    title,
    { timeout: 10000 },
  );
}

test("sign-in by section and role, each sees only their own, acknowledgements reach the supervisor, tasks accepted and declined, a reload keeps what is open", { skip }, async () => {
  const alice = await employee("Alice", "receiving", "picker");
  const bob = await employee("Bob", "cold-storage", "forklift-operator", { width: 390, height: 844 });
  const sam = await employee("Sam", "shipping", "supervisor");
  try {
    assert.equal(await sam.page.isVisible("#notice-card"), true, "supervisors post notices");
    assert.equal(await alice.page.isVisible("#notice-card"), false);

    const post = async (title, section, role, severity) => {
      await sam.page.fill("#notice-title", title);
      await sam.page.selectOption("#notice-section", section);
      await sam.page.selectOption("#notice-role", role);
      await sam.page.selectOption("#notice-severity", severity);
      await sam.page.click("#post-notice");
      await waitForTitle(sam.page, title);
    };
    await post("Truck from Lyon at dock 2", "receiving", "", "info");
    await post("Cold room C3 at 11 °C", "cold-storage", "", "critical");
    await post("Forklift F2 needs charging", "cold-storage", "forklift-operator", "warning");
    await post("Shipping picks only", "shipping", "picker", "info");

    await waitForTitle(alice.page, "Truck from Lyon at dock 2");
    await waitForTitle(bob.page, "Cold room C3 at 11 °C");
    await waitForTitle(bob.page, "Forklift F2 needs charging");
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual((await feedTitles(alice.page)).sort(), ["Truck from Lyon at dock 2"]);
    assert.deepEqual((await feedTitles(bob.page)).sort(), ["Cold room C3 at 11 °C", "Forklift F2 needs charging"]);
    assert.equal((await feedTitles(sam.page)).length, 4, "the supervisor sees everything");

    // Alice acknowledges: the card leaves her open list and the supervisor sees who did.
    await alice.page.click('#feed .notification:has-text("Truck from Lyon") button.ack');
    await sam.page.waitForSelector('#acks li:has-text("Alice")', { timeout: 10000 });
    await alice.page.waitForFunction(() => document.querySelectorAll("#feed .notification").length === 0);

    // A task offered to Bob's device: accepted on the page.
    await sam.page.fill("#task-description", "Move 6 pallets of vaccines to cold room C1");
    await sam.page.selectOption("#task-section", "cold-storage");
    await sam.page.click("#dispatch-task");
    await bob.page.waitForSelector("#offer[open]", { timeout: 10000 });
    assert.match(await bob.page.textContent("#offer-description"), /vaccines/);
    await bob.page.screenshot({ path: path.join(screenshots, "warehouse-phone-task-offer.png") });
    await bob.page.click("#accept");
    await sam.page.waitForSelector('#tasks li.accepted:has-text("accepted by Bob")', { timeout: 10000 });
    await waitForTitle(bob.page, "Task accepted by Bob: Move 6 pallets of vaccines to cold room C1");

    // Another one declined: nobody else is online, so it ends unassigned.
    await sam.page.fill("#task-description", "Move the leaking pallet");
    await sam.page.click("#dispatch-task");
    await bob.page.waitForSelector("#offer[open]", { timeout: 10000 });
    await bob.page.click("#decline");
    await sam.page.waitForSelector('#tasks li.unassigned:has-text("Move the leaking pallet")', { timeout: 10000 });

    await sam.page.screenshot({ path: path.join(screenshots, "warehouse-desktop-supervisor.png") });
    await bob.page.screenshot({ path: path.join(screenshots, "warehouse-phone-operator.png") });

    // A reload: still signed in, and what is open is there again.
    await bob.page.reload();
    await bob.page.waitForSelector('#state[data-state="connected"]', { timeout: 15000 });
    await waitForTitle(bob.page, "Cold room C3 at 11 °C");
    await waitForTitle(bob.page, "Forklift F2 needs charging");
    await alice.page.reload();
    await alice.page.waitForSelector('#state[data-state="connected"]', { timeout: 15000 });
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await feedTitles(alice.page), [], "acknowledged stays acknowledged");
    await alice.page.screenshot({ path: path.join(screenshots, "warehouse-desktop-picker.png") });

    for (const who of [alice, bob, sam]) assert.deepEqual(who.errors, [], "no page errors");
    console.log(`# warehouse screenshots in ${screenshots}`);
  } finally {
    await Promise.all([alice, bob, sam].map((who) => who.context.close()));
  }
});
