// One soak worker process: `perWorker` official-client connections spread over every
// transport and both protocols, each with automatic reconnect, each recording the
// numbered announcements it receives. The driver kills or stalls whole workers.
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

const [url, count, index] = process.argv.slice(2);
const combos = [
  ["WebSockets", "json"],
  ["WebSockets", "messagepack"],
  ["ServerSentEvents", "json"],
  ["LongPolling", "json"],
  ["LongPolling", "messagepack"],
];

const records = [];
// While quiet (the driver measures the server's memory), connections make no calls.
let quiet = false;

async function open(i) {
  const [transport, protocol] = combos[(Number(index) * 7 + i) % combos.length];
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(`${url}/chat`, { transport: signalR.HttpTransportType[transport] })
    .withHubProtocol(protocol === "json" ? new signalR.JsonHubProtocol() : new MessagePackHubProtocol())
    .withAutomaticReconnect({ nextRetryDelayInMilliseconds: () => 1000 + Math.random() * 2000 })
    .configureLogging(signalR.LogLevel.None)
    .build();
  // A record per connection lifetime: a reconnect starts a new one.
  let record = { transport, protocol, connected: true, steady: true, first: null, last: null, seen: 0 };
  records.push(record);
  connection.on("ReceiveMessage", (user, text) => {
    if (user !== "server" || !text.startsWith("seq:")) return;
    const seq = Number(text.slice(4));
    if (record.first === null) record.first = seq;
    record.last = seq;
    record.seen += 1;
  });
  connection.onreconnecting(() => {
    record.connected = false;
    record.steady = false;
  });
  connection.onreconnected(() => {
    record = { transport, protocol, connected: true, steady: false, first: null, last: null, seen: 0 };
    records.push(record);
  });
  connection.onclose(() => {
    record.connected = false;
    record.steady = false;
  });
  await connection.start();
  // Mixed traffic: calls of every kind now and then.
  const traffic = async () => {
    while (true) {
      await new Promise((resolve) => setTimeout(resolve, 3000 + Math.random() * 7000));
      if (quiet || connection.state !== signalR.HubConnectionState.Connected) continue;
      try {
        const sum = await connection.invoke("Add", 40, 2);
        if (sum !== 42) throw new Error(`Add answered ${sum}`);
        const text = "x".repeat(Math.floor(Math.random() * 4000));
        if ((await connection.invoke("Echo", text)) !== text) throw new Error("Echo changed the text");
      } catch {
        // A call in flight when the connection drops fails; that is expected here.
      }
    }
  };
  traffic();
  return connection;
}

for (let i = 0; i < Number(count); i++) {
  await open(i);
}
process.send({ type: "ready", connected: Number(count) });

process.on("message", (message) => {
  if (message.type === "quiet" || message.type === "traffic") {
    quiet = message.type === "quiet";
    return;
  }
  if (message.type !== "report") return;
  const connections = records.map((r) => ({
    transport: r.transport,
    protocol: r.protocol,
    connected: r.connected,
    steady: r.steady,
    // Every announcement from the first it saw up to the last one sent.
    missing: r.steady && r.first !== null ? message.lastAnnounced - r.first + 1 - r.seen : 0,
  }));
  process.send({ type: "report", connections });
});
