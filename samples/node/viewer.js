#!/usr/bin/env node
// A CanvasWire viewer that saves the frames it receives (protocol: docs/PROTOCOL.md).
//
// usage: NODE_PATH=/usr/share/nodejs node viewer.js URL OUT_DIR COUNT [--ack N]
//   URL      ws://HOST:PORT/streams/NAME?policy=all  (every frame, in order; policy=latest may skip)
//   OUT_DIR  frames are saved there as SEQUENCE_WxH.rgba: width*height*4 bytes R, G, B, A, top row first
//            (PNG frames, pixel format 2, as SEQUENCE_WxH.png)
//   COUNT    stop after this many frames; 0 = until the publisher sends {"type":"end"}
//   --ack N  acknowledge each frame once saved, with at most N frames in flight (adds ?ack=N), so the
//            server sends a frame only when this viewer is ready for it
// Needs the `ws` package (npm install ws, or Debian's node-ws).
'use strict';
const fs = require('fs');
const path = require('path');
const WebSocket = require('ws');

const [url, outDir, countText, ackFlag, ackText] = process.argv.slice(2);
const ack = ackFlag === '--ack' ? Number(ackText) : 0;
if (!url || !outDir || countText === undefined || (ackFlag !== undefined && !(ack >= 1))) {
  console.error('usage: node viewer.js URL OUT_DIR COUNT [--ack N]');
  process.exit(2);
}
const count = Number(countText);
fs.mkdirSync(outDir, { recursive: true });

const target = new URL(url);
if (ack) target.searchParams.set('ack', String(ack));
// Frames can be large: allow what the server allows by default (256 MiB + header).
const ws = new WebSocket(target, { maxPayload: 256 * 1024 * 1024 + 32 });
let saved = 0;
let ended = false;
let acks = false;            // the hello agreed to acks (a server that predates them would refuse one)

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
    if (msg.type === 'hello') acks = Boolean(msg.ack);
    if (msg.type === 'end') { ended = true; ws.close(1000, 'stream ended'); }
    return;
  }
  console.log('saved', save(data));
  // This frame, and every one before it, is done: the server may send the next.
  if (acks) ws.send(JSON.stringify({ type: 'ack', sequence: Number(data.readBigUInt64LE(16)) }));
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
