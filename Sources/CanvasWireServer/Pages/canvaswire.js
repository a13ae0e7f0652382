'use strict';
// CanvasWire in the browser, shared by the viewer page (viewer.js) and the sender page (send.js):
// protocol v1 framing and delta frames (docs/PROTOCOL.md sections 1 and 1.1), and the small page
// helpers both use. Everything is on one global, `CanvasWire`.

const CanvasWire = (() => {
  const HEADER_LENGTH = 32;
  const MAGIC = 0x43574631;                 // "CWF1", read big-endian
  const RGBA8 = 1, PNG = 2, DELTA = 3;      // pixel formats
  const TILE_SIZE = 16;                     // the server's tile size (TileGrid.defaultTileSize)
  const READY_STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
  const STREAM_NAME = /^[A-Za-z0-9._-]{1,64}$/;

  // ws:// base URL of the server: ?server=, else this page's own host, else 127.0.0.1:8080 (a file).
  function serverBase(params) {
    const given = params.get('server');
    if (given) return given.replace(/\/+$/, '');
    if (location.protocol === 'http:' || location.protocol === 'https:') {
      return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host;
    }
    return 'ws://127.0.0.1:8080';
  }

  // --- reading ----------------------------------------------------------------------------------

  // The header and payload of one binary message, checked against v1; throws an Error saying what
  // is wrong. The payload of a delta is checked against the frame it applies to (deltaRects).
  function parseFrame(buffer) {
    if (!(buffer instanceof ArrayBuffer)) throw new Error('binary message is not an ArrayBuffer');
    if (buffer.byteLength < HEADER_LENGTH) throw new Error('message shorter than the 32-byte header');
    const view = new DataView(buffer);
    if (view.getUint32(0, false) !== MAGIC) throw new Error('bad magic');
    const format = view.getUint8(4), flags = view.getUint8(5), headerLength = view.getUint16(6, true);
    const width = view.getUint32(8, true), height = view.getUint32(12, true);
    if (flags !== 0) throw new Error('flags ' + flags + ' not 0');
    if (headerLength < HEADER_LENGTH || headerLength > buffer.byteLength) throw new Error('header length ' + headerLength);
    if (width < 1 || height < 1) throw new Error('zero width or height');
    const payloadLength = buffer.byteLength - headerLength;   // extra header bytes (> 32) are skipped
    if (format === RGBA8 && payloadLength !== width * height * 4) throw new Error('RGBA payload length mismatch');
    if (format === PNG && payloadLength === 0) throw new Error('empty PNG payload');
    if (format === DELTA && payloadLength < 4) throw new Error('delta payload shorter than its rectangle count');
    if (format !== RGBA8 && format !== PNG && format !== DELTA) throw new Error('reserved pixel format ' + format);
    return {
      format, width, height, headerLength, buffer,
      sequence: Number(view.getBigUint64(16, true)),
      captureMicros: Number(view.getBigUint64(24, true)),
    };
  }

  // The rectangles of a delta frame, each with its pixels as a view into the message, ready for
  // `ctx.putImageData(new ImageData(r.pixels, r.w, r.h), r.x, r.y)`. Throws unless every rectangle
  // is at least 1x1 and inside the frame and the payload ends with the last one. (Overlap is not
  // checked: the server never sends it, and putImageData would merely draw a pixel twice.)
  function deltaRects(frame) {
    const { buffer, headerLength, width, height } = frame;
    const view = new DataView(buffer, headerLength);
    const count = view.getUint32(0, true);
    const rects = [];
    let offset = 4;
    for (let i = 0; i < count; i++) {
      if (offset + 8 > view.byteLength) throw new Error('delta rectangle ' + i + ' is cut short');
      const x = view.getUint16(offset, true), y = view.getUint16(offset + 2, true);
      const w = view.getUint16(offset + 4, true), h = view.getUint16(offset + 6, true);
      if (w < 1 || h < 1 || x + w > width || y + h > height) {
        throw new Error(`delta rectangle ${i} (x ${x}, y ${y}, ${w}x${h}) is not inside the ${width}x${height} frame`);
      }
      if (offset + 8 + w * h * 4 > view.byteLength) throw new Error('delta rectangle ' + i + ' is cut short');
      rects.push({ x, y, w, h, pixels: new Uint8ClampedArray(buffer, headerLength + offset + 8, w * h * 4) });
      offset += 8 + w * h * 4;
    }
    if (offset !== view.byteLength) throw new Error('delta payload has bytes after its ' + count + ' rectangles');
    return rects;
  }

  // --- writing ----------------------------------------------------------------------------------

  function nowMicros() { return Math.round((performance.timeOrigin + performance.now()) * 1000); }

  // A message of `payloadLength` bytes after a v1 header; returns the buffer and a byte view of it.
  function message(format, width, height, sequence, payloadLength) {
    const buffer = new ArrayBuffer(HEADER_LENGTH + payloadLength);
    const view = new DataView(buffer);
    view.setUint32(0, MAGIC, false);
    view.setUint8(4, format);
    view.setUint8(5, 0);                      // flags
    view.setUint16(6, HEADER_LENGTH, true);
    view.setUint32(8, width, true);
    view.setUint32(12, height, true);
    view.setBigUint64(16, BigInt(sequence), true);
    view.setBigUint64(24, BigInt(nowMicros()), true);
    return { buffer, view, bytes: new Uint8Array(buffer) };
  }

  // One full RGBA8 frame (format 1) of an ImageData.
  function fullFrame(imageData, sequence) {
    const m = message(RGBA8, imageData.width, imageData.height, sequence, imageData.data.length);
    m.bytes.set(imageData.data, HEADER_LENGTH);
    return m.buffer;
  }

  // Rectangles covering every 16-pixel tile in which two RGBA frames of the same size differ. As
  // the server does: neighbouring changed tiles of a tile row make one rectangle, which grows down
  // while the next tile row has a run of the same columns. Rectangles never overlap.
  function changedRects(previous, current, width, height) {
    const a = new Uint32Array(previous.buffer, previous.byteOffset, width * height);
    const b = new Uint32Array(current.buffer, current.byteOffset, width * height);
    const columns = Math.ceil(width / TILE_SIZE), rows = Math.ceil(height / TILE_SIZE);
    const changed = new Uint8Array(columns);
    const rects = [];
    let open = [];                            // rectangles of the tile row above: {start, end, rect}
    for (let row = 0; row < rows; row++) {
      const top = row * TILE_SIZE, bottom = Math.min(height, top + TILE_SIZE);
      changed.fill(0);
      for (let y = top; y < bottom; y++) {
        for (let column = 0; column < columns; column++) {
          if (changed[column]) continue;
          const start = y * width + column * TILE_SIZE, end = y * width + Math.min(width, (column + 1) * TILE_SIZE);
          for (let i = start; i < end; i++) if (a[i] !== b[i]) { changed[column] = 1; break; }
        }
      }
      const next = [];
      for (let start = 0; start < columns;) {
        if (!changed[start]) { start++; continue; }
        let end = start + 1;
        while (end < columns && changed[end]) end++;
        const above = open.find((o) => o.start === start && o.end === end);
        if (above) {
          above.rect.h = bottom - above.rect.y;
          next.push(above);
        } else {
          const x = start * TILE_SIZE, rect = { x, y: top, w: Math.min(width, end * TILE_SIZE) - x, h: bottom - top };
          rects.push(rect);
          next.push({ start, end, rect });
        }
        start = end;
      }
      open = next;
    }
    return rects;
  }

  // Bytes of the delta message carrying `rects`: header, count, and each rectangle's header and pixels.
  function deltaLength(rects) {
    return rects.reduce((sum, r) => sum + 8 + r.w * r.h * 4, HEADER_LENGTH + 4);
  }

  // The delta message (format 3) carrying `rects` of an ImageData.
  function deltaFrame(imageData, rects, sequence) {
    const { width, height, data } = imageData;
    const m = message(DELTA, width, height, sequence, deltaLength(rects) - HEADER_LENGTH);
    m.view.setUint32(HEADER_LENGTH, rects.length, true);
    let offset = HEADER_LENGTH + 4;
    for (const r of rects) {
      m.view.setUint16(offset, r.x, true); m.view.setUint16(offset + 2, r.y, true);
      m.view.setUint16(offset + 4, r.w, true); m.view.setUint16(offset + 6, r.h, true);
      offset += 8;
      for (let y = r.y; y < r.y + r.h; y++) {
        const start = (y * width + r.x) * 4;
        m.bytes.set(data.subarray(start, start + r.w * 4), offset);
        offset += r.w * 4;
      }
    }
    return m.buffer;
  }

  // --- page helpers -----------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  // Sets a status field's text (– for nothing) and class, touching the DOM only when they change.
  function text(id, value, cls) {
    const el = $(id);
    const str = value == null || value === '' ? '–' : String(value);
    if (el.textContent !== str) el.textContent = str;
    el.className = cls || '';
  }

  function banner(message, cls) {
    const el = $('banner');
    el.textContent = message;
    el.className = cls || '';
  }

  // Shows a WebSocket readyState on the page's pill and body; returns its name.
  function showReadyState(state) {
    const name = READY_STATE_NAMES[state] || 'CLOSED';
    document.body.dataset.state = name;
    $('pill').textContent = name;
    $('pill').className = 'pill ' + name;
    return name;
  }

  function fmtBytes(n) {
    if (!Number.isFinite(n)) return '–';
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(n % (1 << 20) ? 1 : 0) + ' MiB';
    if (n >= 1 << 10) return (n / (1 << 10)).toFixed(n % (1 << 10) ? 1 : 0) + ' KiB';
    return Math.round(n) + ' B';
  }

  function median(values) {
    if (values.length === 0) return null;
    const sorted = values.slice().sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }

  return {
    HEADER_LENGTH, RGBA8, PNG, DELTA, TILE_SIZE, READY_STATE_NAMES, STREAM_NAME,
    serverBase, parseFrame, deltaRects, fullFrame, changedRects, deltaLength, deltaFrame,
    $, text, banner, showReadyState, fmtBytes, median,
  };
})();
