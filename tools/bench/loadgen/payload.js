// Frame payloads whose every byte follows from the frame's sequence number, so that a viewer can
// check each byte with a native memcmp instead of a JavaScript loop.
//
// Frame n's payload is the window [offset(n), offset(n) + payloadLength) of a random table that is
// stored twice in a row (so every window is one contiguous slice, never a copy). The table is 4 KiB
// longer than one payload, so no window repeats a stretch of bytes: a region that a relay shifts,
// truncates, duplicates or takes from another frame differs from what the viewer expects. offset(n)
// is a multiple of 4 that changes with n, so a frame relayed under another frame's sequence number
// fails too. The table lives in a SharedArrayBuffer that the viewer threads map instead of copying.
//
// The publisher must mask what it sends (RFC 6455 5.3). Masking in JavaScript costs a core at the
// rates measured here, so the table is masked ahead of time with a few random keys: because
// offsets, the table length and the 32-byte header are all multiples of 4, the slice of a
// pre-masked table is exactly the masked payload, and each frame picks one of the keys at random.
"use strict";

const crypto = require("node:crypto");

const SLACK = 4096;
const OFFSET_STEP = 4 * 7919; // a prime number of words, so offsets walk the whole table

class PayloadTable {
  /**
   * @param {number} payloadLength bytes of one frame's payload (width * height * 4)
   * @param {SharedArrayBuffer} [shared] the table made by another thread's PayloadTable
   */
  constructor(payloadLength, shared) {
    this.payloadLength = payloadLength;
    this.period = Math.ceil((payloadLength + SLACK) / 4) * 4;
    if (shared) {
      this.shared = shared;
    } else {
      this.shared = new SharedArrayBuffer(2 * this.period);
      const table = Buffer.from(this.shared);
      crypto.randomFillSync(table, 0, this.period);
      table.copy(table, this.period, 0, this.period);
    }
    this.table = Buffer.from(this.shared);
  }

  /** Where frame `sequence`'s payload starts in the doubled table (a multiple of 4). */
  offset(sequence) {
    return ((sequence % this.period) * OFFSET_STEP) % this.period;
  }

  /** Copies of the table masked with `count` random keys, for a publisher. */
  maskedCopies(count) {
    const copies = [];
    for (let index = 0; index < count; index++) {
      const key = crypto.randomBytes(4);
      const masked = Buffer.allocUnsafeSlow(this.table.length);
      const source = new Uint32Array(this.shared);
      const target = new Uint32Array(masked.buffer, masked.byteOffset, masked.length / 4);
      const word = key.readUInt32LE(0);
      for (let i = 0; i < source.length; i++) target[i] = source[i] ^ word;
      copies.push({ key, masked });
    }
    return copies;
  }

  /**
   * Whether bytes [start, end) of `chunk` are payload bytes [position, position + end - start) of
   * frame `sequence`. Compares every byte (memcmp).
   */
  matches(chunk, start, end, sequence, position) {
    let from = this.offset(sequence) + position;
    while (start < end) {
      // A chunk is at most one read (much less than a period), but stay correct for any size.
      const count = Math.min(end - start, 2 * this.period - from);
      if (chunk.compare(this.table, from, from + count, start, start + count) !== 0) return false;
      start += count;
      from = (from + count) % this.period;
    }
    return true;
  }
}

module.exports = { PayloadTable };
