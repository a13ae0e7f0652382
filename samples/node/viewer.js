#!/usr/bin/env node
// A CanvasWire viewer that saves the frames it receives (protocol: docs/PROTOCOL.md).
//
// usage: NODE_PATH=/usr/share/nodejs node viewer.js URL OUT_DIR COUNT
//   URL      ws://HOST:PORT/streams/NAME?policy=all  (every frame, in order; policy=latest may skip)
//   OUT_DIR  frames are saved there as SEQUENCE_WxH.rgba: width*height*4 bytes R, G, B, A, top row first
//            (PNG frames, pixel format 2, as SEQUENCE_WxH.png)
//   COUNT    stop after this many frames; 0 = until the publisher sends {"type":"end"}
// Needs the `ws` package (npm install ws, or Debian's node-ws).
'use strict';
const fs = require('fs');
const path = require('path');
const WebSocket = require('ws');

const [url, outDir, countText] = process.argv.slice(2);
if (!url || !outDir || countText === undefined) {
  console.error('usage: node viewer.js URL OUT_DIR COUNT');
  process.exit(2);
}
const count = Number(countText);
fs.mkdirSync(outDir, { recursive: true });

// Frames can be large: allow what the server allows by default (256 MiB + header).
const ws = new WebSocket(url, { maxPayload: 256 * 1024 * 1024 + 32 });
let saved = 0;
let ended = false;

function save(buf) {        // buf: a Buffer holding one binary message
  // 32-byte little-endian header: magic, format, flags, header length, width, height, sequence, time (µs).
  if (buf.length < 32 || buf.toString('latin1', 0, 4) !== 'CWF1') throw new Error('bad magic');
  const format = buf.readUInt8(4), flags = buf.readUInt8(5), headerLength = buf.readUInt16LE(6);
  const width = buf.readUInt32LE(8), height = buf.readUInt32LE(12);
  const sequence = buf.readBigUInt64LE(16);
  if (flags !== 0 || headerLength < 32 || (format !== 1 && format !== 2)) throw new Error('bad header');
  const payload = buf.subarray(headerLength);       // skips header bytes a later version may add
  if (format === 1 && payload.length !== width * height * 4) throw new Error('bad payload length');
  const name = `${String(sequence).padStart(6, '0')}_${width}x${height}.${format === 1 ? 'rgba' : 'png'}`;
  fs.writeFileSync(path.join(outDir, name), payload);
  return name;
}

ws.on('message', (data, isBinary) => {
  if (!isBinary) {                                  // JSON control message: hello, publisher, dropped, end
    const msg = JSON.parse(data.toString('utf8'));
    console.log('control', JSON.stringify(msg));
    if (msg.type === 'end') { ended = true; ws.close(1000, 'stream ended'); }
    return;
  }
  console.log('saved', save(data));
  if (++saved === count) ws.close(1000, 'done');
});

ws.on('close', (code, reason) => {
  console.log(`closed ${code} ${reason}`);
  process.exitCode = saved === count || ended ? 0 : 1;
});

ws.on('error', (err) => {
  console.error('error:', err.message);
  process.exitCode = 1;
});
