'use strict';
// The sender page's canvas and what it shows (send.js). Deterministic sources: for frame number n,
// pixel (x, y) of
//   pattern  is  R = (x + n) & 255, G = (y * 2 + n) & 255, B = (x ^ y) & 255, A = 255: every pixel changes;
//   square   is  the pattern of frame 0, except an S x S square (S = min(24, w, h)) at
//               x0 = (5 * n) % (w - S + 1), y0 = (3 * n) % (h - S + 1), whose pixels are the pattern of frame n:
//               only the tiles the square leaves and enters change.
// Both are written byte by byte into an ImageData and put on the canvas with putImageData (alpha is
// 255, so reading the canvas back gives exactly these bytes). `image` draws a chosen picture,
// letterboxed, with a moving bar.

class FrameSource {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { willReadFrequently: true });
    this.image = null;            // ImageData the sources are written into (one per size)
    this.base = null;             // the pattern of frame 0, under the square
    this.picture = null;          // ImageBitmap for the `image` source
  }

  sizeTo(w, h) {
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    this.canvas.classList.toggle('pixelated', w < 640 || h < 360);
    if (!this.image || this.image.width !== w || this.image.height !== h) {
      this.image = this.ctx.createImageData(w, h);
      this.base = this.ctx.createImageData(w, h);
      FrameSource.writePattern(this.base.data, w, 0, 0, 0, w, h);
    }
  }

  // Draws frame n of `source` ('pattern', 'square', or 'image' once a picture is set) into the canvas.
  draw(n, source) {
    const w = this.canvas.width, h = this.canvas.height, ctx = this.ctx;
    if (source === 'image' && this.picture) {
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, w, h);
      const scale = Math.min(w / this.picture.width, h / this.picture.height);
      const dw = this.picture.width * scale, dh = this.picture.height * scale;
      ctx.drawImage(this.picture, (w - dw) / 2, (h - dh) / 2, dw, dh);
      const bar = Math.max(2, Math.round(h / 60));
      ctx.fillStyle = '#4ea1ff';
      ctx.fillRect(0, h - bar, ((n % 120) + 1) / 120 * w, bar);
      return;
    }
    this.sizeTo(w, h);
    if (source === 'square') {
      const side = Math.min(24, w, h), x0 = (5 * n) % (w - side + 1), y0 = (3 * n) % (h - side + 1);
      this.image.data.set(this.base.data);
      FrameSource.writePattern(this.image.data, w, n, x0, y0, x0 + side, y0 + side);
    } else {
      FrameSource.writePattern(this.image.data, w, n, 0, 0, w, h);
    }
    ctx.putImageData(this.image, 0, 0);
  }

  // The canvas's pixels: what is sent.
  read() {
    return this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height);
  }

  // Writes pattern frame n into the region [x0, x1) x [y0, y1) of RGBA pixels `w` wide.
  static writePattern(d, w, n, x0, y0, x1, y1) {
    for (let y = y0; y < y1; y++) {
      const g = (y * 2 + n) & 255;
      for (let x = x0, i = (y * w + x0) * 4; x < x1; x++, i += 4) {
        d[i] = (x + n) & 255;
        d[i + 1] = g;
        d[i + 2] = (x ^ y) & 255;
        d[i + 3] = 255;
      }
    }
  }
}
