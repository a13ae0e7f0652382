#!/usr/bin/env node
// A CanvasWire viewer that takes delta frames and saves whole ones (protocol: docs/PROTOCOL.md 1.1).
//
// usage: NODE_PATH=/usr/share/nodejs node delta_viewer.js URL OUT_DIR COUNT
//   URL      ws://HOST:PORT/streams/NAME?policy=all; the viewer adds encoding=delta, so the server
//            sends only the rectangles that changed, wherever that is smaller than the whole frame
//   OUT_DIR  every frame is saved there whole as SEQUENCE_WxH.rgba: width*height*4 bytes R, G, B, A
//   COUNT    stop after this many frames; 0 = until the publisher sends {"type":"end"}
// Needs the `ws` package (npm install ws, or Debian's node-ws).
'use strict';
const fs = require('fs');
const path = require('path');
const WebSocket = require('ws');

const [url, outDir, countText] = process.argv.slice(2);
if (!url || !outDir || countText === undefined) {
  console.error('usage: node delta_viewer.js URL OUT_DIR COUNT');
  process.exit(2);
}
const count = Number(countText);
fs.mkdirSync(outDir, { recursive: true });
const ws = new WebSocket(url + (url.includes('?') ? '&' : '?') + 'encoding=delta', { maxPayload: 256 * 1024 * 1024 + 32 });
let frame = null, saved = 0, ended = false;   // frame: the one held, what the next delta applies to

// Copies every rectangle of a delta payload (u32 count; u16 x, y, w, h and w*h*4 bytes each) over the frame.
function applyDelta(payload, width, height) {
  const rects = payload.readUInt32LE(0);
  let offset = 4;
  for (let i = 0; i < rects; i++) {
    const x = payload.readUInt16LE(offset), y = payload.readUInt16LE(offset + 2);
    const w = payload.readUInt16LE(offset + 4), h = payload.readUInt16LE(offset + 6);
    offset += 8;
    if (w < 1 || h < 1 || x + w > width || y + h > height || offset + w * h * 4 > payload.length) {
      throw new Error(`delta rectangle ${x},${y} ${w}x${h} is outside the frame or cut short`);
    }
    for (let row = y; row < y + h; row++, offset += w * 4) payload.copy(frame.pixels, (row * width + x) * 4, offset, offset + w * 4);
  }
  if (offset !== payload.length) throw new Error('delta payload has bytes after its last rectangle');
  return rects;
}

function take(buf) {        // buf: a Buffer holding one binary message; returns what was done
  const format = buf.readUInt8(4), flags = buf.readUInt8(5), headerLength = buf.readUInt16LE(6);
  const width = buf.readUInt32LE(8), height = buf.readUInt32LE(12);
  if (buf.toString('latin1', 0, 4) !== 'CWF1' || flags !== 0 || headerLength < 32 || (format !== 1 && format !== 3)) {
    throw new Error('not an RGBA8 (1) or delta (3) v1 frame');
  }
  const payload = buf.subarray(headerLength);       // skips header bytes a later version may add
  if (format === 1) {
    if (payload.length !== width * height * 4) throw new Error('payload length does not match width*height*4');
    frame = { width, height, pixels: Buffer.from(payload) };
    return 'full';
  }
  if (!frame || frame.width !== width || frame.height !== height) throw new Error('a delta came before any whole frame of its size');
  return `delta of ${applyDelta(payload, width, height)} rectangles`;
}

ws.on('message', (data, isBinary) => {
  if (!isBinary) {                                  // JSON control message: hello, publisher, dropped, end
    const msg = JSON.parse(data.toString('utf8'));
    console.log('control', JSON.stringify(msg));
    if (msg.type === 'end') { ended = true; ws.close(1000, 'stream ended'); }
    return;
  }
  if (saved === count && count > 0) return;         // closing: what still arrives is not asked for
  let how;
  try { how = take(data); } catch (err) { console.error('error:', err.message); ws.close(1008, err.message); return; }
  const name = `${String(data.readBigUInt64LE(16)).padStart(6, '0')}_${frame.width}x${frame.height}.rgba`;
  fs.writeFileSync(path.join(outDir, name), frame.pixels);
  console.log('saved', name, `(${how}, ${data.length} bytes)`);
  if (++saved === count) ws.close(1000, 'done');
});

ws.on('close', (code, reason) => {
  console.log(`closed ${code} ${reason}`);
  process.exitCode = (saved === count || ended) && code !== 1008 ? 0 : 1;
});
ws.on('error', (err) => { console.error('error:', err.message); process.exitCode = 1; });
