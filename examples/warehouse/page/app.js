// MilesLong Warehouse page: sign in, then a live feed of what concerns you, through the
// official SignalR browser client (served by the example from its npm package).
"use strict";

const labels = {
  receiving: "Receiving",
  "cold-storage": "Cold storage",
  "long-term-storage": "Long-term storage",
  shipping: "Shipping",
  picker: "Picker",
  "forklift-operator": "Forklift operator",
  supervisor: "Supervisor",
};
const kindLabels = {
  arrival: "arrival",
  refrigeration: "refrigerate",
  shipment: "shipment",
  "temperature-alert": "temperature",
  delay: "delay",
  notice: "notice",
  task: "task",
};

const $ = (id) => document.getElementById(id);
const state = {
  session: null,
  connection: null,
  notifications: new Map(), // id → notification, deduplicated (a device may hear one twice)
  cards: new Map(), // id → [rendered state, element]: a card is rebuilt only when it changes
  fresh: new Set(), // ids that arrived live and have not been shown yet
  points: [],
  stream: null,
};

function text(tag, content, className) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  element.textContent = content;
  return element;
}

function time(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function setConnectionState(name) {
  const pill = $("state");
  pill.dataset.state = name;
  pill.textContent = name;
}

// ---- sign-in ------------------------------------------------------------------------

function loadSession() {
  try {
    return JSON.parse(sessionStorage.getItem("warehouse-session"));
  } catch {
    return null;
  }
}

async function signIn(event) {
  event.preventDefault();
  $("sign-in-error").textContent = "";
  const body = { name: $("name").value, section: $("section").value, role: $("role").value };
  const response = await fetch("/api/signin", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    $("sign-in-error").textContent = await response.text();
    return;
  }
  const session = await response.json();
  sessionStorage.setItem("warehouse-session", JSON.stringify(session));
  await enter(session);
}

async function signOut() {
  sessionStorage.removeItem("warehouse-session");
  if (state.connection) await state.connection.stop();
  location.reload();
}

// ---- the feed -----------------------------------------------------------------------

function render() {
  const feed = $("feed");
  const showDone = $("show-done").checked;
  const items = [...state.notifications.values()]
    .filter((n) => showDone || !n.acknowledgedBy)
    .sort((a, b) => b.id - a.id)
    .slice(0, 200);
  feed.replaceChildren(...items.map(cached));
  const open = [...state.notifications.values()].filter((n) => !n.acknowledgedBy).length;
  $("open-count").textContent = String(open);
  $("feed-empty").hidden = items.length > 0;
}

function cached(n) {
  const key = n.acknowledgedBy ?? "";
  const known = state.cards.get(n.id);
  if (known && known[0] === key) return known[1];
  const element = card(n);
  if (state.fresh.delete(n.id)) {
    element.classList.add("fresh");
    setTimeout(() => element.classList.remove("fresh"), 1000);
  }
  state.cards.set(n.id, [key, element]);
  return element;
}

function audienceLabel(audience) {
  if (audience.user) return `for ${audience.user}`;
  const parts = [];
  if (audience.section) parts.push(labels[audience.section]);
  if (audience.role) parts.push(`${labels[audience.role]}s`);
  return parts.length ? parts.join(" · ") : "everyone";
}

function card(n) {
  const item = document.createElement("li");
  item.className = `notification severity-${n.severity}${n.acknowledgedBy ? " done" : ""}`;
  item.dataset.id = String(n.id);
  const head = document.createElement("div");
  head.className = "head";
  head.append(
    text("span", kindLabels[n.kind] ?? n.kind, `kind ${n.kind}`),
    text("span", n.severity, `badge severity ${n.severity}`),
    text("span", audienceLabel(n.audience), "badge audience"),
    text("time", time(n.createdAt), "muted small"),
  );
  const body = document.createElement("div");
  body.className = "body";
  body.append(text("strong", n.title, "title"), text("p", n.detail, "detail"));
  const foot = document.createElement("div");
  foot.className = "foot";
  if (n.acknowledgedBy) {
    foot.append(text("span", `✓ acknowledged by ${n.acknowledgedBy} at ${time(n.acknowledgedAt)}`, "acked"));
  } else {
    const button = text("button", "Acknowledge", "ack");
    button.type = "button";
    button.addEventListener("click", () => acknowledge(n.id, button));
    foot.append(button);
  }
  item.append(head, body, foot);
  return item;
}

const KEEP = 400; // notifications kept on the page; the oldest acknowledged go first

function remember(notification) {
  const known = state.notifications.get(notification.id);
  if (known && known.acknowledgedBy && !notification.acknowledgedBy) return;
  state.notifications.set(notification.id, notification);
  if (state.notifications.size > KEEP) {
    const ids = [...state.notifications.values()]
      .sort((a, b) => Number(!a.acknowledgedBy) - Number(!b.acknowledgedBy) || a.id - b.id)
      .slice(0, state.notifications.size - KEEP)
      .map((n) => n.id);
    for (const id of ids) {
      state.notifications.delete(id);
      state.cards.delete(id);
    }
  }
}

async function acknowledge(id, button) {
  button.disabled = true;
  try {
    await state.connection.invoke("Acknowledge", id);
  } catch (error) {
    button.disabled = false;
    console.warn("acknowledge failed", error);
  }
}

function onAcknowledged(ack) {
  const known = state.notifications.get(ack.notificationId);
  if (known) {
    known.acknowledgedBy = ack.by;
    known.acknowledgedAt = ack.at;
  }
  render();
  if (state.session.employee.role === "supervisor") addAck(ack);
}

function addAck(ack) {
  const list = $("acks");
  if (list.querySelector(`[data-id="${ack.notificationId}"]`)) return;
  const item = document.createElement("li");
  item.dataset.id = String(ack.notificationId);
  item.append(
    text("strong", ack.by),
    text("span", ` · ${labels[ack.section] ?? ack.section} · ${time(ack.at)}`, "muted small"),
    text("div", ack.title, "small"),
  );
  list.prepend(item);
  while (list.children.length > 30) list.lastChild.remove();
}

// ---- forklift tasks -----------------------------------------------------------------

function offerTask(offer) {
  // A client result: the server waits for this device's answer.
  return new Promise((resolve) => {
    const dialog = $("offer");
    $("offer-description").textContent = offer.description;
    $("offer-section").textContent = labels[offer.section] ?? offer.section;
    let left = offer.answerWithin;
    $("offer-countdown").textContent = String(left);
    const timer = setInterval(() => {
      left -= 1;
      $("offer-countdown").textContent = String(Math.max(left, 0));
      if (left <= 0) finish(false);
    }, 1000);
    const finish = (accepted) => {
      clearInterval(timer);
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(accepted);
    };
    dialog.onclose = () => finish(dialog.returnValue === "accept");
    dialog.returnValue = "";
    dialog.showModal();
  });
}

function onTaskUpdate(status) {
  const list = $("tasks");
  const item = document.createElement("li");
  item.dataset.task = String(status.taskId);
  item.className = `task ${status.state}`;
  const who = status.assignee ? `accepted by ${status.assignee}` : "unassigned";
  const passed = status.passedOver.length ? ` (passed over: ${status.passedOver.join(", ")})` : "";
  item.append(text("strong", `#${status.taskId} ${who}`), text("div", `${status.description}${passed}`, "small"));
  list.prepend(item);
  while (list.children.length > 20) list.lastChild.remove();
}

// ---- the chart ----------------------------------------------------------------------

function drawChart() {
  const canvas = $("chart");
  const context = canvas.getContext("2d");
  const width = canvas.width;
  const height = canvas.height;
  context.clearRect(0, 0, width, height);
  const points = state.points.slice(-60);
  const max = Math.max(2, ...points.map((p) => Math.max(p.notifications, p.acknowledgements)));
  context.strokeStyle = "#e3e7ee";
  context.lineWidth = 1;
  for (let i = 1; i < 4; i++) {
    const y = (height * i) / 4;
    context.beginPath();
    context.moveTo(0, y);
    context.lineTo(width, y);
    context.stroke();
  }
  const line = (key, color) => {
    context.strokeStyle = color;
    context.lineWidth = 2.5;
    context.beginPath();
    points.forEach((p, i) => {
      const x = (width * i) / 59;
      const y = height - 6 - ((height - 12) * p[key]) / max;
      if (i === 0) context.moveTo(x, y);
      else context.lineTo(x, y);
    });
    context.stroke();
  };
  line("notifications", "#2563eb");
  line("acknowledgements", "#16a34a");
  context.fillStyle = "#6b7280";
  context.font = "12px system-ui, sans-serif";
  context.fillText(`max ${max}/s`, 6, 14);
}

function followThroughput(connection) {
  state.stream?.dispose();
  state.stream = connection.stream("Throughput").subscribe({
    next: (point) => {
      state.points.push(point);
      if (state.points.length > 120) state.points.splice(0, state.points.length - 120);
      drawChart();
    },
    error: () => {},
    complete: () => {},
  });
}

// ---- the connection -----------------------------------------------------------------

async function refresh(connection) {
  // After a sign-in, a reload or a reconnect: what is still open for me.
  const open = await connection.invoke("Unacknowledged");
  for (const n of open) remember(n);
  render();
  if (state.session.employee.role === "supervisor") {
    const acks = await connection.invoke("RecentAcknowledgements");
    for (const ack of acks) addAck(ack);
  }
  followThroughput(connection);
}

async function enter(session) {
  state.session = session;
  const { employee } = session;
  $("sign-in-view").hidden = true;
  $("app-view").hidden = false;
  $("who").hidden = false;
  $("who-name").textContent = employee.name;
  $("who-section").textContent = labels[employee.section];
  $("who-role").textContent = labels[employee.role];
  for (const element of document.querySelectorAll(".supervisor-only")) {
    element.hidden = employee.role !== "supervisor";
  }
  document.body.dataset.role = employee.role;

  const connection = new signalR.HubConnectionBuilder()
    .withUrl("/hubs/notifications", { accessTokenFactory: () => session.token })
    .withAutomaticReconnect({ nextRetryDelayInMilliseconds: (ctx) => Math.min(1000 * 2 ** ctx.previousRetryCount, 10000) })
    .withStatefulReconnect()
    .configureLogging(signalR.LogLevel.Warning)
    .build();
  state.connection = connection;
  connection.on("Notify", (n) => {
    if (!state.notifications.has(n.id)) state.fresh.add(n.id);
    remember(n);
    render();
  });
  connection.on("Acknowledged", onAcknowledged);
  connection.on("OfferTask", offerTask);
  connection.on("TaskUpdate", onTaskUpdate);
  connection.onreconnecting(() => setConnectionState("reconnecting"));
  connection.onreconnected(async () => {
    setConnectionState("connected");
    await refresh(connection);
  });
  connection.onclose(() => {
    setConnectionState("offline");
    setTimeout(() => start(connection), 5000);
  });
  await start(connection);
}

async function start(connection) {
  setConnectionState("connecting");
  try {
    await connection.start();
    setConnectionState("connected");
    await refresh(connection);
  } catch (error) {
    setConnectionState("offline");
    if (String(error).includes("401")) {
      // The token expired or the server restarted with another key: sign in again.
      sessionStorage.removeItem("warehouse-session");
      location.reload();
      return;
    }
    setTimeout(() => start(connection), 5000);
  }
}

// ---- supervisor forms ---------------------------------------------------------------

async function postNotice(event) {
  event.preventDefault();
  const audience = {};
  if ($("notice-section").value) audience.section = $("notice-section").value;
  if ($("notice-role").value) audience.role = $("notice-role").value;
  await state.connection.invoke("PostNotice", {
    title: $("notice-title").value,
    detail: `Posted by ${state.session.employee.name}`,
    severity: $("notice-severity").value,
    audience,
  });
  $("notice-title").value = "";
}

async function dispatchTask(event) {
  event.preventDefault();
  const description = $("task-description").value;
  $("task-description").value = "";
  // Resolves once an operator accepted or everyone passed.
  await state.connection.invoke("DispatchTask", description, $("task-section").value);
}

window.addEventListener("DOMContentLoaded", () => {
  $("sign-in").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("show-done").addEventListener("change", render);
  $("notice").addEventListener("submit", postNotice);
  $("task").addEventListener("submit", dispatchTask);
  drawChart();
  const session = loadSession();
  if (session) enter(session);
});
