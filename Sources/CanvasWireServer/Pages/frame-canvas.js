'use strict';
// The viewer page's canvas (with canvaswire.js). It holds the frame received last, which is what
// the next delta applies to. Frames are queued as they arrive and put on the canvas in order on the
// next requestAnimationFrame: a whole frame replaces whatever is queued before it (counted as
// "skipped locally"), and deltas are applied one rectangle at a time with putImageData, so none is
// ever skipped. A PNG frame holds the queue until it is decoded.

class FrameCanvas {
  // stats: the page's figures (skipped, imageDataAllocations, rectanglesDrawn are kept here);
  // drawn(frame): the newest frame is on the canvas; invalid(reason): a frame could not be drawn.
  constructor(canvas, stats, { drawn, invalid }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.stats = stats;
    this.drawn = drawn;
    this.invalid = invalid;
    this.queue = [];
    this.imageData = null;          // reused while the frame size stays the same
    this.decoding = false;          // a PNG decode is in flight
    this.generation = 0;            // bumps on clear(); a PNG decoded for an older one is dropped
    this.lastRafAt = 0;
  }

  // Queues a parsed frame (CanvasWire.parseFrame; a delta with its `rects`).
  enqueue(frame) {
    if (frame.format !== CanvasWire.DELTA && !this.decoding) {
      this.stats.skipped += this.queue.length;   // a whole frame makes everything before it moot
      this.queue = [];
    }
    frame.generation = this.generation;
    this.queue.push(frame);
  }

  // Forgets queued frames: a new connection starts again from a whole frame.
  clear() {
    this.queue = [];
    this.generation++;
  }

  // Draws on every animation frame, and now and then without one: requestAnimationFrame pauses in
  // hidden tabs, and the figures should stay meaningful there too.
  start() {
    const loop = () => {
      this.lastRafAt = performance.now();
      this.draw();
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
    setInterval(() => { if (this.queue.length && performance.now() - this.lastRafAt > 500) this.draw(); }, 250);
  }

  // Puts every queued frame on the canvas, in order; stops at a PNG until it is decoded.
  draw() {
    let last = null;
    while (this.queue.length && !this.decoding) {
      const frame = this.queue.shift();
      if (last) this.stats.skipped++;            // put on the canvas but never shown
      last = null;
      if (frame.format === CanvasWire.RGBA8) {
        this.putWhole(frame);
        last = frame;
      } else if (frame.format === CanvasWire.DELTA) {
        for (const r of frame.rects) this.ctx.putImageData(new ImageData(r.pixels, r.w, r.h), r.x, r.y);
        this.stats.rectanglesDrawn += frame.rects.length;
        last = frame;
      } else {
        this.decodePNG(frame);
      }
    }
    if (last) this.drawn(last);
  }

  putWhole(frame) {
    this.sizeTo(frame.width, frame.height);
    const { width, height } = frame;
    if (!this.imageData || this.imageData.width !== width || this.imageData.height !== height) {
      this.imageData = this.ctx.createImageData(width, height);   // only when the size changes
      this.stats.imageDataAllocations++;
    }
    this.imageData.data.set(new Uint8ClampedArray(frame.buffer, frame.headerLength, width * height * 4));
    this.ctx.putImageData(this.imageData, 0, 0);
  }

  decodePNG(frame) {
    this.decoding = true;
    createImageBitmap(new Blob([new Uint8Array(frame.buffer, frame.headerLength)], { type: 'image/png' }))
      .then((bitmap) => {
        if (frame.generation === this.generation) {
          this.sizeTo(bitmap.width, bitmap.height);               // a PNG's own size wins
          this.stats.width = bitmap.width; this.stats.height = bitmap.height;
          this.ctx.clearRect(0, 0, bitmap.width, bitmap.height);
          this.ctx.drawImage(bitmap, 0, 0);
          this.drawn(frame);
        }
        if (bitmap.close) bitmap.close();
      })
      .catch((err) => this.invalid('PNG decode failed: ' + (err && err.message)))
      .finally(() => { this.decoding = false; });
  }

  sizeTo(width, height) {
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    // Small frames scale up with hard pixel edges instead of blur.
    this.canvas.classList.toggle('pixelated', width < 640 || height < 360);
  }
}
