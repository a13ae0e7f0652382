'use strict';
// The viewer page's stream picker (with canvaswire.js): the streams GET /streams lists, refreshed
// every few seconds, and a field for any other name.

const ViewerStreams = (() => {
  const { $ } = CanvasWire;
  const REFRESH_MS = 3000;
  let options = null;        // from start(): httpBase, token, watch(name), current() -> stats, initial

  function select(name) {
    const list = $('stream');
    if (![...list.options].some((o) => o.value === name)) {
      const opt = document.createElement('option');
      opt.value = name;
      opt.textContent = name;
      list.appendChild(opt);
    }
    list.value = name;
  }

  async function fetchStreams(timeoutMs) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const headers = options.token ? { Authorization: 'Bearer ' + options.token } : {};
      const response = await fetch(options.httpBase + '/streams', { headers, signal: controller.signal, cache: 'no-store' });
      if (!response.ok) return null;
      const body = await response.json();
      const list = Array.isArray(body) ? body : body && Array.isArray(body.streams) ? body.streams : [];
      return list
        .map((s) => (typeof s === 'string' ? { name: s } : s && typeof s === 'object' ? s : null))
        .filter((s) => s && typeof s.name === 'string');
    } catch (err) {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  // GET /streams gives the publisher as an object (its connection) or null; a plain boolean is accepted too.
  function hasPublisher(s) {
    if (typeof s.publisher === 'boolean') return s.publisher;
    return 'publisher' in s ? s.publisher != null : null;
  }

  function describe(s) {
    let label = s.name;
    if (Number.isFinite(s.width) && Number.isFinite(s.height)) label += '  ' + s.width + '×' + s.height;
    if (Number.isFinite(s.framesPerSecond)) label += '  ' + s.framesPerSecond.toFixed(0) + ' fps';
    if (hasPublisher(s) != null) label += hasPublisher(s) ? '  ●' : '  ○';
    return label;
  }

  async function refresh() {
    const streams = await fetchStreams(2500);
    if (!streams) return;
    const list = $('stream');
    const stats = options.current();
    list.textContent = '';
    for (const s of streams) {
      const opt = document.createElement('option');
      opt.value = s.name;
      opt.textContent = describe(s);
      list.appendChild(opt);
      if (s.name === stats.stream && stats.publisher == null && hasPublisher(s) != null) stats.publisher = hasPublisher(s);
    }
    if (stats.stream) select(stats.stream);
  }

  // Watches ?stream=, else "demo" when the server lists it, else the first stream listed, else "demo".
  async function start(given) {
    options = given;
    $('stream').addEventListener('change', (e) => { if (e.target.value !== options.current().stream) options.watch(e.target.value); });
    $('go').addEventListener('click', () => { const v = $('custom').value.trim(); if (v) options.watch(v); });
    $('custom').addEventListener('keydown', (e) => { if (e.key === 'Enter') $('go').click(); });
    let name = options.initial;
    if (!name) {
      const streams = await fetchStreams(2000);
      name = streams && streams.length ? (streams.some((s) => s.name === 'demo') ? 'demo' : streams[0].name) : 'demo';
    }
    options.watch(name);
    refresh();
    setInterval(refresh, REFRESH_MS);
  }

  return { start, select };
})();
