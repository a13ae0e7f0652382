#!/usr/bin/env node
// A CanvasWire publisher: sends COUNT generated frames, then {"type":"end"} (protocol: docs/PROTOCOL.md).
//
// usage: NODE_PATH=/usr/share/nodejs node publisher.js URL COUNT [WxH]
//   URL    ws://HOST:PORT/streams/NAME/publish
//   COUNT  frames to send, sequence 0 .. COUNT-1; WxH defaults to 320x240
// Frame n is the pattern the browser sender draws, so any viewer can check it pixel by pixel:
// pixel (x, y) is R = (x + n) & 255, G = (y * 2 + n) & 255, B = (x ^ y) & 255, A = 255.
// Needs the `ws` package (npm install ws, or Debian's node-ws).
'use strict';
const WebSocket = require('ws');

const [url, countText, size = '320x240'] = process.argv.slice(2);
if (!url || countText === undefined) {
  console.error('usage: node publisher.js URL COUNT [WxH]');
  process.exit(2);
}
const count = Number(countText);
const [width, height] = size.toLowerCase().split('x').map(Number);

// One v1 message: 32-byte little-endian header, then width*height*4 RGBA bytes.
function frame(n) {
  const buf = Buffer.alloc(32 + width * height * 4);
  buf.write('CWF1', 0, 'latin1');                   // magic
  buf.writeUInt8(1, 4);                             // pixel format 1 = RGBA8
  buf.writeUInt8(0, 5);                             // flags
  buf.writeUInt16LE(32, 6);                         // header length
  buf.writeUInt32LE(width, 8);
  buf.writeUInt32LE(height, 12);
  buf.writeBigUInt64LE(BigInt(n), 16);              // sequence
  buf.writeBigUInt64LE(BigInt(Date.now()) * 1000n, 24); // capture time, µs since the Unix epoch
  let i = 32;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      buf[i++] = (x + n) & 255; buf[i++] = (y * 2 + n) & 255; buf[i++] = (x ^ y) & 255; buf[i++] = 255;
    }
  }
  return buf;
}

// Resolves once ws has handed the message to the socket: one frame in flight at a time, so a slow
// server (backpressure from a lossless viewer) slows this loop down instead of growing bufferedAmount.
const send = (ws, data) => new Promise((resolve, reject) => ws.send(data, (err) => (err ? reject(err) : resolve())));

const ws = new WebSocket(url);
let started = false;

ws.on('message', async (data, isBinary) => {
  if (isBinary || started) return;
  const hello = JSON.parse(data.toString('utf8'));  // the server accepts us with a hello first
  if (hello.type !== 'hello') return;
  started = true;
  try {
    for (let n = 0; n < count; n++) await send(ws, frame(n));
    await send(ws, JSON.stringify({ type: 'end', lastSequence: count - 1 }));
    ws.close(1000, 'done');                          // queued frames go out before the close
  } catch (err) {
    console.error('send failed:', err.message);
    process.exitCode = 1;
  }
});

ws.on('close', (code, reason) => {
  console.log(`closed ${code} ${reason}`);
  if (code !== 1000) process.exitCode = 1;
});

ws.on('error', (err) => {
  console.error('error:', err.message);
  process.exitCode = 1;
});
