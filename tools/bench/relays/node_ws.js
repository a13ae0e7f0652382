// A CanvasWire-protocol relay as a user would write it with Node's `ws` (Debian node-ws,
// NODE_PATH=/usr/share/nodejs). Same behaviour as python_websockets.py: hello first, the publisher's
// messages forwarded to every viewer, `latest` viewers skipped while their bufferedAmount is above the
// high-water mark, the publisher paused while an `all` viewer is above it; `/echo` echoes.
// Prints `listening PORT` once it accepts connections.
const { WebSocketServer } = require("ws");

const HIGH_WATER_MARK = 4 << 20;
const LIMITS = { maxWidth: 16384, maxHeight: 16384, maxPayloadBytes: 256 << 20 };
const streams = new Map();

function hello(role, stream, policy) {
  const message = { type: "hello", protocol: 1, role, stream, limits: LIMITS, highWaterMark: HIGH_WATER_MARK, server: "node-ws" };
  if (policy) message.policy = policy;
  return JSON.stringify(message);
}

const server = new WebSocketServer({ host: "127.0.0.1", port: Number(process.argv[2] || 0), maxPayload: 512 << 20, perMessageDeflate: false });
server.on("listening", () => console.log(`listening ${server.address().port}`));
server.on("connection", (ws, request) => {
  const url = new URL(request.url, "http://relay");
  if (url.pathname === "/echo") {
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    return;
  }
  const parts = url.pathname.split("/").filter(Boolean);
  if (parts.length < 2 || parts[0] !== "streams") return ws.close(1008, "unknown endpoint");
  if (!streams.has(parts[1])) streams.set(parts[1], { all: new Set(), latest: new Set() });
  const stream = streams.get(parts[1]);
  if (parts[2] === "publish") {
    ws.send(hello("publisher", parts[1]));
    ws.on("message", (data, isBinary) => {
      for (const viewer of stream.latest) if (viewer.bufferedAmount < HIGH_WATER_MARK) viewer.send(data, { binary: isBinary });
      for (const viewer of stream.all) {
        viewer.send(data, { binary: isBinary });
        if (viewer.bufferedAmount > HIGH_WATER_MARK && !ws.isPaused) {
          ws.pause();
          viewer._socket.once("drain", () => ws.resume());
        }
      }
    });
    return;
  }
  const policy = url.searchParams.get("policy") || "latest";
  ws.send(hello("viewer", parts[1], policy));
  stream[policy].add(ws);
  ws.on("close", () => stream[policy].delete(ws));
});
