'use strict';
// CanvasWire viewer: one WebSocket per stream, protocol v1 (docs/PROTOCOL.md), with canvaswire.js,
// frame-canvas.js (drawing) and stream-list.js (the stream picker).
//
// Query parameters:
//   ?stream=NAME    stream to show (otherwise: "demo" if listed by GET /streams, else the first, else "demo")
//   ?token=T        appended to the WebSocket URL as &token=T (and sent as a Bearer header to GET /streams)
//   ?policy=all     viewer policy (default "latest")
//   ?encoding=raw   every frame whole (default "delta": only the rectangles that changed, where smaller)
//   ?ack=N          acknowledge each drawn frame, N frames in flight at most (default 2; 0: no acks)
//   ?server=URL     ws:// or wss:// base URL of the server (default: this page's own host)
//
// A delta applies to the frame received last: the canvas holds it (FrameCanvas), and a new
// connection starts again from the whole frame the server sends first.
// Once a frame is on screen the page acknowledges it (docs/PROTOCOL.md, "Acknowledged viewers"), so
// the server sends the next one then (the newest, for policy=latest) instead of filling socket
// buffers with frames that age there.

const { $, text, banner } = CanvasWire;
const BACKOFF_MIN_MS = 500, BACKOFF_MAX_MS = 5000;

const params = new URLSearchParams(location.search);
const token = params.get('token') || '';
const policy = params.get('policy') === 'all' ? 'all' : 'latest';
const encoding = params.get('encoding') === 'raw' ? 'raw' : 'delta';
const ackWindow = /^\d+$/.test(params.get('ack') || '') ? Number(params.get('ack')) : 2;
const WS_BASE = CanvasWire.serverBase(params);
const HTTP_BASE = WS_BASE.replace(/^ws/, 'http');

// Everything a test (or a curious human in the console) may want to read. Mutated in place, never replaced.
const stats = {
  stream: null, url: null, readyState: 'CLOSED',
  framesReceived: 0, framesDrawn: 0, bytesReceived: 0, fps: 0, mbps: 0, latencyMs: null,
  dropped: 0, droppedLastCount: 0, skipped: 0, invalidFrames: 0, lastError: null,
  lastSequence: null, lastDrawnSequence: null, lastCaptureMicros: null, format: null, width: null, height: null,
  imageDataAllocations: 0, closeCode: null, closeReason: null, wasClean: null, reconnects: 0, reconnectInMs: null,
  publisher: null, ended: false, endSequence: null, hello: null, policy,
  encoding: null,          // as the server's hello reports it ("raw" when it does not say)
  deltaFrames: 0,          // frames that arrived as deltas
  rectanglesDrawn: 0,      // putImageData calls for delta rectangles
  bytesPerFrame: null,     // bytes on the wire per frame over the last second
  ofFullFrame: null,       // bytesPerFrame over a whole frame's message (32 + width*height*4)
  extensions: null,        // the WebSocket's agreed extensions ("permessage-deflate; ..." or "")
};

let ws = null;                 // the current WebSocket
let reconnectTimer = null;
let backoffMs = BACKOFF_MIN_MS;
let droppedBefore = 0;         // dropped totals of earlier connections to the same stream
let generation = 0;            // bumps on every stream switch; stale async work checks it
let held = null;               // size of the last RGBA8 frame received: what the next delta applies to
const recent = [];             // [receivedAtMs, bytes, latencyMs|null, fullFrameBytes] over the last second

function nowMs() { return performance.timeOrigin + performance.now(); }

function log(message) {
  const li = document.createElement('li');
  li.textContent = new Date().toLocaleTimeString() + '  ' + message;
  const list = $('log');
  list.prepend(li);
  while (list.children.length > 40) list.lastChild.remove();
}

function setReadyState(state) { stats.readyState = CanvasWire.showReadyState(state); }

function resetStats(name) {
  Object.assign(stats, {
    stream: name, url: null, framesReceived: 0, framesDrawn: 0, bytesReceived: 0, fps: 0, mbps: 0,
    latencyMs: null, dropped: 0, droppedLastCount: 0, skipped: 0, invalidFrames: 0, lastError: null,
    lastSequence: null, lastDrawnSequence: null, lastCaptureMicros: null, format: null,
    width: null, height: null, closeCode: null, closeReason: null, wasClean: null, reconnects: 0,
    reconnectInMs: null, publisher: null, ended: false, endSequence: null, hello: null, encoding: null,
    deltaFrames: 0, rectanglesDrawn: 0, bytesPerFrame: null, ofFullFrame: null, extensions: null,
  });
  droppedBefore = 0;
  recent.length = 0;
}

// ---------------------------------------------------------------------------------------------
// Connection

function viewerUrl(name) {
  let url = WS_BASE + '/streams/' + encodeURIComponent(name) + '?policy=' + policy + '&encoding=' + encoding;
  if (ackWindow > 0) url += '&ack=' + ackWindow;
  if (token) url += '&token=' + encodeURIComponent(token);
  return url;
}

function connect() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  stats.reconnectInMs = null;
  view.clear();                // a new connection starts again from a whole frame
  held = null;
  const name = stats.stream;
  const url = viewerUrl(name);
  stats.url = url.replace(/([?&]token=)[^&]*/, '$1***');
  $('s-url').textContent = stats.url;

  let socket;
  try {
    socket = new WebSocket(url);
  } catch (err) {
    banner('cannot open WebSocket: ' + err.message, 'bad');
    log('WebSocket constructor failed: ' + err.message);
    scheduleReconnect();
    return;
  }
  socket.binaryType = 'arraybuffer';
  ws = socket;
  setReadyState(socket.readyState);
  banner('connecting to ' + stats.url + ' …', 'warn');

  socket.onopen = () => {
    if (socket !== ws) return;
    setReadyState(socket.readyState);
    backoffMs = BACKOFF_MIN_MS;
    stats.extensions = socket.extensions;
    banner('connected to stream "' + name + '", waiting for frames…', 'ok');
    log('open ' + stats.url);
    render();
  };
  socket.onmessage = (event) => {
    if (socket !== ws) return;
    if (typeof event.data === 'string') onControl(event.data);
    else onFrame(event.data);
  };
  socket.onerror = () => {
    if (socket !== ws) return;
    // The browser deliberately reveals no detail here; onclose follows with the code.
    setReadyState(socket.readyState);
    log('error (readyState ' + stats.readyState + ')');
  };
  socket.onclose = (event) => {
    if (socket !== ws) return;
    setReadyState(WebSocket.CLOSED);
    stats.closeCode = event.code;
    stats.closeReason = event.reason;
    stats.wasClean = event.wasClean;
    droppedBefore = stats.dropped;
    log('close code=' + event.code + ' reason="' + event.reason + '" wasClean=' + event.wasClean);
    scheduleReconnect();
    render();
  };
}

function scheduleReconnect() {
  clearTimeout(reconnectTimer);
  const delay = backoffMs;
  backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
  stats.reconnectInMs = delay;
  const why = stats.closeCode != null
    ? 'closed (' + stats.closeCode + (stats.closeReason ? ' ' + stats.closeReason : '') + ')'
    : 'not connected';
  banner(why + ' — reconnecting in ' + (delay / 1000).toFixed(1) + ' s…', 'bad');
  const gen = generation;
  reconnectTimer = setTimeout(() => {
    if (gen !== generation) return;
    stats.reconnects++;
    connect();
  }, delay);
}

function disconnect(reason) {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  if (ws) {
    const old = ws;
    ws = null;                      // handlers ignore events from a socket that is no longer current
    old.onopen = old.onmessage = old.onerror = old.onclose = null;
    if (old.readyState === WebSocket.CONNECTING || old.readyState === WebSocket.OPEN) old.close(1000, reason);
  }
}

function watch(name) {
  if (!CanvasWire.STREAM_NAME.test(name)) {
    banner('invalid stream name "' + name + '" (allowed: A-Z a-z 0-9 . _ -, 1 to 64)', 'bad');
    return;
  }
  disconnect('switching stream');
  generation++;
  backoffMs = BACKOFF_MIN_MS;
  resetStats(name);
  setReadyState(WebSocket.CLOSED);
  const url = new URL(location.href);
  url.searchParams.set('stream', name);
  history.replaceState(null, '', url);
  document.title = name + ' — CanvasWire viewer';
  $('sendlink').href = 'send?stream=' + encodeURIComponent(name) + (token ? '&token=' + encodeURIComponent(token) : '');
  ViewerStreams.select(name);
  log('watching "' + name + '"');
  connect();
  render();
}

// ---------------------------------------------------------------------------------------------
// Messages

function onControl(message) {
  let msg;
  try { msg = JSON.parse(message); } catch (err) { log('unparseable text message: ' + message.slice(0, 80)); return; }
  if (!msg || typeof msg !== 'object') return;
  switch (msg.type) {
    case 'hello':
      stats.hello = msg;
      stats.encoding = msg.encoding || 'raw';   // a server that predates deltas sends every frame whole
      if (Number.isFinite(msg.width) && Number.isFinite(msg.height) && stats.width == null) {
        stats.width = msg.width; stats.height = msg.height;
      }
      log('hello policy=' + msg.policy + ' encoding=' + stats.encoding + ' server=' + msg.server);
      if (stats.framesReceived === 0) banner('connected to "' + stats.stream + '", waiting for frames…', 'ok');
      break;
    case 'dropped':
      if (Number.isFinite(Number(msg.total))) stats.dropped = droppedBefore + Number(msg.total);
      if (Number.isFinite(Number(msg.count))) stats.droppedLastCount = Number(msg.count);
      break;
    case 'publisher':
      stats.publisher = !!msg.connected;
      if (msg.connected) { stats.ended = false; stats.endSequence = null; }
      log('publisher ' + (msg.connected ? 'connected' : 'disconnected') + (msg.run ? ' (run ' + msg.run + ', ' + msg.runState + ')' : ''));
      break;
    case 'end':
      stats.ended = true;
      stats.endSequence = msg.lastSequence != null ? Number(msg.lastSequence) : stats.lastSequence;
      log('end lastSequence=' + (msg.lastSequence != null ? msg.lastSequence : 'absent'));
      banner('stream ended at sequence ' + (stats.endSequence != null ? stats.endSequence : '–'), 'warn');
      break;
    default:
      break;                        // unknown types are ignored (room for later versions)
  }
}

function invalid(reason) {
  stats.invalidFrames++;
  stats.lastError = reason;
  log('invalid frame: ' + reason);
}

function onFrame(buffer) {
  let frame;
  try {
    frame = CanvasWire.parseFrame(buffer);
    if (frame.format === CanvasWire.DELTA) {
      if (!held || held.width !== frame.width || held.height !== frame.height) {
        throw new Error('delta for a ' + frame.width + 'x' + frame.height + ' frame, but ' +
          (held ? 'the frame held is ' + held.width + 'x' + held.height : 'no full frame is held'));
      }
      frame.rects = CanvasWire.deltaRects(frame);
    }
  } catch (err) {
    invalid(err.message);
    // A delta that could not be applied leaves every later one without its frame: start again
    // from the whole frame a new connection begins with.
    if (stats.encoding === 'delta') {
      disconnect('bad delta');
      stats.reconnects++;
      connect();
    }
    return;
  }
  const received = nowMs();
  const latency = received - frame.captureMicros / 1000;
  stats.framesReceived++;
  stats.bytesReceived += buffer.byteLength;
  stats.lastSequence = frame.sequence;
  stats.lastCaptureMicros = frame.captureMicros;
  if (frame.format === CanvasWire.DELTA) stats.deltaFrames++;
  stats.format = frame.format === CanvasWire.PNG ? 'PNG' : 'RGBA8';
  if (frame.format !== CanvasWire.PNG) { stats.width = frame.width; stats.height = frame.height; }
  held = frame.format === CanvasWire.PNG ? null : { width: frame.width, height: frame.height };
  const full = frame.format === CanvasWire.PNG ? buffer.byteLength : CanvasWire.HEADER_LENGTH + frame.width * frame.height * 4;
  recent.push([received, buffer.byteLength, Number.isFinite(latency) ? latency : null, full]);
  frame.socket = ws;            // an ack goes back only on the connection that brought the frame
  view.enqueue(frame);
}

// ---------------------------------------------------------------------------------------------
// Drawing

// Tells the server the frame is on screen (and every frame before it), so it may send the next;
// only if the connection's hello agreed to acks.
function acknowledge(frame) {
  if (frame.socket !== ws || ws.readyState !== WebSocket.OPEN || !(stats.hello && stats.hello.ack)) return;
  ws.send(JSON.stringify({ type: 'ack', sequence: frame.sequence }));
}

function drawn(frame) {
  acknowledge(frame);
  stats.framesDrawn++;
  stats.lastDrawnSequence = frame.sequence;
  if (stats.framesDrawn === 1 || $('banner').textContent.includes('waiting')) {
    if (stats.ended) banner('stream ended at sequence ' + (stats.endSequence != null ? stats.endSequence : '–'), 'warn');
    else banner('live: "' + stats.stream + '"', 'ok');
  }
}

const view = new FrameCanvas($('view'), stats, { drawn, invalid });
view.start();

// ---------------------------------------------------------------------------------------------
// Status panel

function render() {
  const cutoff = nowMs() - 1000;
  while (recent.length && recent[0][0] < cutoff) recent.shift();
  stats.fps = recent.length;
  const wire = recent.reduce((sum, r) => sum + r[1], 0);
  stats.mbps = wire / 1e6;                                         // MB = 10^6 bytes, window = 1 s
  if (recent.length) {
    stats.bytesPerFrame = Math.round(wire / recent.length);
    stats.ofFullFrame = wire / recent.reduce((sum, r) => sum + r[3], 0);
  }
  const latencies = recent.map((r) => r[2]).filter((v) => v != null);
  if (latencies.length) stats.latencyMs = Math.round(CanvasWire.median(latencies) * 10) / 10;
  if (ws) setReadyState(ws.readyState);

  text('s-stream', stats.stream);
  text('s-size', stats.width != null ? stats.width + ' × ' + stats.height : null);
  text('s-format', stats.format);
  text('s-publisher', stats.publisher == null ? 'unknown' : stats.publisher ? 'connected' : 'disconnected',
    stats.publisher == null ? '' : stats.publisher ? 'ok' : 'warn');
  text('s-end', stats.ended ? 'stream ended at sequence ' + (stats.endSequence != null ? stats.endSequence : '–') : null,
    stats.ended ? 'warn' : '');
  text('s-state', stats.readyState +
    (stats.reconnectInMs != null ? ' (reconnecting in ' + (stats.reconnectInMs / 1000).toFixed(1) + ' s)' : ''),
    stats.readyState === 'OPEN' ? 'ok' : stats.readyState === 'CONNECTING' ? 'warn' : 'bad');
  text('s-code', stats.closeCode);
  text('s-reason', stats.closeReason === '' ? '(empty)' : stats.closeReason);
  text('s-clean', stats.wasClean);
  text('s-reconnects', stats.reconnects);
  text('s-received', stats.framesReceived);
  text('s-drawn', stats.framesDrawn);
  text('s-fps', stats.fps);
  text('s-mbps', stats.mbps.toFixed(2));
  text('s-bpf', stats.bytesPerFrame != null
    ? CanvasWire.fmtBytes(stats.bytesPerFrame) + ' (' + (stats.ofFullFrame * 100).toFixed(1) + ' % of full)' : null);
  text('s-deltas', stats.deltaFrames);
  text('s-latency', stats.latencyMs != null ? stats.latencyMs.toFixed(1) + ' ms' : null);
  text('s-seq', stats.lastSequence);
  text('s-dropped', stats.dropped, stats.dropped ? 'warn' : '');
  text('s-skipped', stats.skipped);
  text('s-errors', stats.invalidFrames, stats.invalidFrames ? 'bad' : '');
  const h = stats.hello;
  const limits = (h && typeof h.limits === 'object' && h.limits) || {};
  text('h-policy', h && h.policy);
  text('h-encoding', stats.encoding);
  text('h-compression', stats.extensions ? stats.extensions.split(';')[0] : (stats.extensions === '' ? 'none' : null));
  text('h-maxsize', limits.maxWidth != null ? limits.maxWidth + ' × ' + limits.maxHeight : null);
  text('h-maxpayload', limits.maxPayloadBytes != null ? CanvasWire.fmtBytes(Number(limits.maxPayloadBytes)) : null);
  text('h-hwm', h && h.highWaterMark != null ? CanvasWire.fmtBytes(Number(h.highWaterMark)) : null);
  text('h-server', h && h.server);
}
setInterval(render, 250);

window.canvaswire = {
  stats,
  get ws() { return ws; },
  get stream() { return stats.stream; },
  watch,
  reconnect() { disconnect('reconnecting'); connect(); },
  READY_STATE_NAMES: CanvasWire.READY_STATE_NAMES,
};

ViewerStreams.start({ httpBase: HTTP_BASE, token, watch, current: () => stats, initial: params.get('stream') });
