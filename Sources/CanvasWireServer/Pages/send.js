'use strict';
// CanvasWire sender: animates a canvas and publishes it over a WebSocket (docs/PROTOCOL.md), with
// canvaswire.js and frame-source.js (the sources: pattern, square, picture). Frame n is the n-th frame
// actually sent on this connection, which is also its v1 sequence number.
//
// Modes:
//   bare:  WS /streams/NAME/publish?width=W&height=H, each message = imageData.data.buffer (W*H*4 bytes)
//   v1:    WS /streams/NAME/publish, each message = 32-byte little-endian header + RGBA (format 1)
//   delta: as v1, but after the first frame each message carries only the 16-pixel tiles that changed
//          since the frame before (format 3, docs/PROTOCOL.md 1.1), whenever that is smaller than the
//          whole frame. Bare mode has no header, so it cannot say that a message is a delta.
//
// A frame is sent only while websocket.bufferedAmount is below the threshold; otherwise the tick is
// skipped and counted as "held back" (the frame number does not advance). Threshold 0 = send only when
// bufferedAmount is 0.
//
// Query parameters: ?stream=NAME (default webcanvas) ?size=WxH (default 320x240) ?fps=N (default 30,
// 0 = as fast as possible) ?mode=bare|v1|delta (default bare) ?source=pattern|square (default pattern)
// ?threshold=BYTES (default 4194304) ?token=T ?frames=N (stop after N frames, default 0 = until Stop)
// ?autostart=1 ?server=ws://host:port (default: this page's own host, or ws://127.0.0.1:8080 from a file)

const { $, text, banner } = CanvasWire;
const DEFAULT_THRESHOLD = 4 * 1024 * 1024;
const MAX_SIDE = 16384;
const MODES = ['bare', 'v1', 'delta'];

const params = new URLSearchParams(location.search);
const WS_BASE = CanvasWire.serverBase(params);
const drawing = new FrameSource($('canvas'));

const stats = {
  stream: null, mode: null, width: null, height: null, url: null, running: false, readyState: 'CLOSED',
  sent: 0, heldBack: 0, ticks: 0, bytesSent: 0, fps: 0, mbps: 0, bufferedAmount: 0, maxBufferedAmount: 0,
  lastSequence: null, closeCode: null, closeReason: null, wasClean: null, endSent: false, hello: null, lastError: null,
  deltaFrames: 0,          // frames sent as deltas (mode delta)
  bytesPerFrame: null,     // bytes sent per frame over the last second
  extensions: null,        // the WebSocket's agreed extensions ("permessage-deflate; ..." or "")
};

let ws = null;
let timer = null;
let nextAt = 0;
let previous = null;        // ImageData sent last on this connection: what the next delta applies to
let config = null;          // settings frozen at Start
const recent = [];          // [sentAtMs, bytes] over the last second

// ---------------------------------------------------------------------------------------------
// Inputs

function parseSize(value) {
  const m = /^\s*(\d+)\s*[x×X*]\s*(\d+)\s*$/.exec(value || '');
  if (!m) return null;
  const w = Number(m[1]), h = Number(m[2]);
  if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE) return null;
  return { w, h };
}

function intParam(name, fallback) {
  const v = params.get(name);
  if (v == null || v.trim() === '' || !Number.isFinite(Number(v)) || Number(v) < 0) return fallback;
  return Math.floor(Number(v));
}

$('stream').value = params.get('stream') || 'webcanvas';
$('size').value = parseSize(params.get('size')) ? params.get('size').replace(/\s+/g, '') : '320x240';
$('fps').value = intParam('fps', 30);
$('threshold').value = intParam('threshold', DEFAULT_THRESHOLD);
$('frames').value = intParam('frames', 0);
$('token').value = params.get('token') || '';
document.querySelector('input[name=mode][value=' + (MODES.includes(params.get('mode')) ? params.get('mode') : 'bare') + ']').checked = true;
document.querySelector('input[name=source][value=' + (params.get('source') === 'square' ? 'square' : 'pattern') + ']').checked = true;

function currentFps() {
  const v = Number($('fps').value);
  return Number.isFinite(v) && v > 0 ? Math.min(v, 1000) : 0;
}
function currentThreshold() {
  const v = Number($('threshold').value);
  return Number.isFinite(v) && v >= 0 ? v : DEFAULT_THRESHOLD;
}
function currentSource() {
  return document.querySelector('input[name=source]:checked').value;
}
function updateViewLink() {
  const name = $('stream').value.trim();
  const tok = $('token').value;
  $('viewlink').href = './?stream=' + encodeURIComponent(name) + (tok ? '&token=' + encodeURIComponent(tok) : '');
}
$('stream').addEventListener('input', updateViewLink);
updateViewLink();

$('file').addEventListener('change', async () => {
  const file = $('file').files[0];
  if (!file) return;
  try {
    if (drawing.picture && drawing.picture.close) drawing.picture.close();
    drawing.picture = await createImageBitmap(file);
    document.querySelector('input[name=source][value=image]').checked = true;
    banner('picture ' + file.name + ' (' + drawing.picture.width + '×' + drawing.picture.height + ') loaded', 'ok');
    if (!stats.running) drawing.draw(0, currentSource());
  } catch (err) {
    drawing.picture = null;
    banner('cannot decode ' + file.name + ': ' + err.message, 'bad');
  }
});

function setInputsDisabled(disabled) {
  for (const id of ['stream', 'size', 'frames', 'token']) $(id).disabled = disabled;
  for (const el of document.querySelectorAll('input[name=mode]')) el.disabled = disabled;
  $('start').disabled = disabled;
  $('stop').disabled = !disabled;
}

function setReadyState(state) { stats.readyState = CanvasWire.showReadyState(state); }

// ---------------------------------------------------------------------------------------------
// Sending

function publishUrl(cfg) {
  const url = WS_BASE + '/streams/' + encodeURIComponent(cfg.stream) + '/publish';
  const q = new URLSearchParams();
  if (cfg.mode === 'bare') { q.set('width', cfg.w); q.set('height', cfg.h); }
  if (cfg.token) q.set('token', cfg.token);
  const qs = q.toString();
  return qs ? url + '?' + qs : url;
}

// The message for frame n: in delta mode the changed tiles when that is smaller than the whole frame.
function frameMessage(imageData, n) {
  if (config.mode === 'bare') return imageData.data.buffer;
  if (config.mode === 'delta' && previous) {
    const rects = CanvasWire.changedRects(previous.data, imageData.data, config.w, config.h);
    if (CanvasWire.deltaLength(rects) < CanvasWire.HEADER_LENGTH + imageData.data.length) {
      stats.deltaFrames++;
      return CanvasWire.deltaFrame(imageData, rects, n);
    }
  }
  return CanvasWire.fullFrame(imageData, n);
}

function noteBuffered() {
  if (!ws) return;
  stats.bufferedAmount = ws.bufferedAmount;
  if (stats.bufferedAmount > stats.maxBufferedAmount) stats.maxBufferedAmount = stats.bufferedAmount;
}

function step() {
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  stats.ticks++;
  noteBuffered();
  // Send only while below the threshold; a threshold of 0 means "only when fully drained".
  if (ws.bufferedAmount >= Math.max(currentThreshold(), 1)) {
    stats.heldBack++;
    return;
  }
  const n = stats.sent;
  drawing.draw(n, currentSource());
  const imageData = drawing.read();
  const message = frameMessage(imageData, n);
  ws.send(message);
  previous = imageData;
  stats.sent++;
  stats.lastSequence = n;
  stats.bytesSent += message.byteLength;
  recent.push([performance.now(), message.byteLength]);
  noteBuffered();
  if (config.frames > 0 && stats.sent >= config.frames) {
    banner('sent ' + stats.sent + ' frames, ending', 'ok');
    stop();
  }
}

function tick() {
  timer = null;
  if (!stats.running) return;
  step();
  schedule();
}

function schedule() {
  if (!stats.running || timer != null) return;
  const fps = currentFps();
  if (fps === 0) {                               // as fast as possible, still gated by bufferedAmount
    timer = setTimeout(tick, 0);
    return;
  }
  const period = 1000 / fps;
  const now = performance.now();
  nextAt += period;
  if (nextAt < now - period) nextAt = now;       // fell far behind: do not burst to catch up
  timer = setTimeout(tick, Math.max(0, nextAt - now));
}

function start() {
  if (stats.running || (ws && ws.readyState !== WebSocket.CLOSED)) return false;
  const stream = $('stream').value.trim();
  if (!CanvasWire.STREAM_NAME.test(stream)) { banner('invalid stream name (A-Z a-z 0-9 . _ -, 1 to 64)', 'bad'); return false; }
  const size = parseSize($('size').value);
  if (!size) { banner('size must be WxH, each 1 to ' + MAX_SIDE, 'bad'); return false; }
  const frames = Number($('frames').value);
  const mode = document.querySelector('input[name=mode]:checked').value;
  config = {
    stream, w: size.w, h: size.h, mode: MODES.includes(mode) ? mode : 'bare', token: $('token').value,
    frames: Number.isFinite(frames) && frames > 0 ? Math.floor(frames) : 0,
  };
  drawing.sizeTo(config.w, config.h);
  previous = null;                               // the server holds no frame of a new connection
  Object.assign(stats, {
    stream, mode: config.mode, width: config.w, height: config.h, running: true, sent: 0, heldBack: 0,
    ticks: 0, bytesSent: 0, fps: 0, mbps: 0, bufferedAmount: 0, maxBufferedAmount: 0, lastSequence: null,
    closeCode: null, closeReason: null, wasClean: null, endSent: false, hello: null, lastError: null,
    deltaFrames: 0, bytesPerFrame: null,
  });
  recent.length = 0;
  const url = publishUrl(config);
  stats.url = url.replace(/([?&]token=)[^&]*/, '$1***');
  setInputsDisabled(true);
  updateViewLink();

  let socket;
  try {
    socket = new WebSocket(url);
  } catch (err) {
    stats.running = false;
    stats.lastError = err.message;
    setInputsDisabled(false);
    banner('cannot open WebSocket: ' + err.message, 'bad');
    return false;
  }
  ws = socket;
  setReadyState(socket.readyState);
  banner('connecting to ' + stats.url + ' …', 'warn');

  socket.onopen = () => {
    if (socket !== ws) return;
    setReadyState(socket.readyState);
    stats.extensions = socket.extensions;
    banner('publishing "' + stream + '" (' + config.mode + ', ' + config.w + '×' + config.h + ')', 'ok');
    if (stats.running) {
      nextAt = performance.now();
      timer = setTimeout(tick, 0);
    }
    render();
  };
  socket.onmessage = (event) => {
    if (socket !== ws || typeof event.data !== 'string') return;
    try {
      const msg = JSON.parse(event.data);
      if (msg && msg.type === 'hello') stats.hello = msg;
    } catch (err) { /* not JSON: ignore */ }
  };
  socket.onerror = () => {
    if (socket !== ws) return;
    setReadyState(socket.readyState);
    stats.lastError = 'WebSocket error';
  };
  socket.onclose = (event) => {
    if (socket !== ws) return;
    setReadyState(WebSocket.CLOSED);
    stats.closeCode = event.code;
    stats.closeReason = event.reason;
    stats.wasClean = event.wasClean;
    stats.bufferedAmount = socket.bufferedAmount;
    const wasRunning = stats.running;
    halt();
    banner('closed: code ' + event.code + (event.reason ? ' "' + event.reason + '"' : '') +
      ' wasClean=' + event.wasClean, event.code === 1000 && !wasRunning ? 'ok' : 'bad');
    render();
  };
  return true;
}

function halt() {
  stats.running = false;
  clearTimeout(timer);
  timer = null;
  setInputsDisabled(false);
}

// Stop: tell the server the stream is complete, then close normally. Queued frames go out before the close.
function stop() {
  const socket = ws;
  const wasRunning = stats.running;
  stats.running = false;
  clearTimeout(timer);
  timer = null;
  if (!socket) { halt(); return; }
  if (socket.readyState === WebSocket.OPEN) {
    const end = { type: 'end' };
    if (config && config.mode !== 'bare' && stats.sent > 0) end.lastSequence = stats.sent - 1;
    socket.send(JSON.stringify(end));
    stats.endSent = true;
    socket.close(1000, 'done');
    banner('stopping: end sent, closing…', 'warn');
  } else if (socket.readyState === WebSocket.CONNECTING) {
    socket.close(1000, 'done');
  }
  setReadyState(socket.readyState);
  if (!wasRunning && socket.readyState === WebSocket.CLOSED) halt();
  $('stop').disabled = true;
}

$('start').addEventListener('click', () => start());
$('stop').addEventListener('click', () => stop());

// ---------------------------------------------------------------------------------------------
// Status panel

function render() {
  const cutoff = performance.now() - 1000;
  while (recent.length && recent[0][0] < cutoff) recent.shift();
  stats.fps = recent.length;
  const bytes = recent.reduce((sum, r) => sum + r[1], 0);
  stats.mbps = bytes / 1e6;                                         // MB = 10^6 bytes, window = 1 s
  if (recent.length) stats.bytesPerFrame = Math.round(bytes / recent.length);
  if (ws) { setReadyState(ws.readyState); noteBuffered(); }
  text('s-state', stats.readyState, stats.readyState === 'OPEN' ? 'ok' : stats.readyState === 'CONNECTING' ? 'warn' : 'bad');
  text('s-url', stats.url);
  text('s-mode', stats.mode ? ({ bare: 'bare', v1: 'v1 header', delta: 'delta' })[stats.mode] + ', ' + stats.width + '×' + stats.height : null);
  text('s-code', stats.closeCode);
  text('s-reason', stats.closeReason === '' ? '(empty)' : stats.closeReason);
  text('s-clean', stats.wasClean);
  text('s-server', stats.hello && stats.hello.server);
  text('s-sent', stats.sent);
  text('s-deltas', stats.deltaFrames);
  text('s-fps', stats.fps);
  text('s-mbps', stats.mbps.toFixed(2));
  text('s-buffered', stats.bufferedAmount.toLocaleString('en-US'),
    stats.bufferedAmount >= currentThreshold() ? 'warn' : '');
  text('s-maxbuffered', stats.maxBufferedAmount.toLocaleString('en-US'));
  text('s-held', stats.heldBack, stats.heldBack ? 'warn' : '');
  text('s-bytes', config ? (config.w * config.h * 4 + (config.mode === 'bare' ? 0 : 32)).toLocaleString('en-US') : null);
  text('s-bpf', stats.bytesPerFrame != null ? stats.bytesPerFrame.toLocaleString('en-US') : null);
}
setInterval(render, 250);

window.canvaswire = {
  stats,
  start,
  stop,
  get ws() { return ws; },
  pattern(n, x, y) { return [(x + n) & 255, (y * 2 + n) & 255, (x ^ y) & 255, 255]; },
};

// Show frame 0 of the source at the chosen size before anything is sent.
(function preview() {
  const size = parseSize($('size').value) || { w: 320, h: 240 };
  drawing.sizeTo(size.w, size.h);
  drawing.draw(0, currentSource());
})();

if (params.get('autostart') === '1' || params.get('autostart') === 'true') start();
