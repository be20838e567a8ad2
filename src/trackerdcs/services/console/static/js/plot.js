// One uPlot chart of one device's fields (a channel's, or a sensor's): history from the
// archive, then live points appended to a bounded buffer. It redraws only when its own
// data changed, and only while it can be seen.

import { api, ApiError } from './api.js';
import { h, setText } from './dom.js';
import { clock, quantity, si } from './format.js';
import { label } from './sensors.js';

const MAX_POINTS = 10000; // per plot: the oldest go first
const HEIGHT = 260;
// Okabe-Ito: told apart with every common colour vision deficiency.
const COLOURS = ['#56B4E9', '#E69F00', '#009E73', '#F0E442', '#CC79A7', '#D55E00', '#0072B2'];
const AXIS = { stroke: '#aab4c3', grid: { stroke: '#263040', width: 1 }, ticks: { stroke: '#263040' }, font: '14px system-ui, sans-serif' };

const FIELD_LABELS = { vmon: 'V mon', vreq: 'V set', imon: 'I mon', ilimit: 'I limit' };
const fieldLabel = (field) => FIELD_LABELS[field] ?? label(field);

export function seriesTitle({ device, channel, fields }) {
  const where = channel === null || channel === undefined ? device : `${device}:${channel}`;
  return `${where} ${fields.map(fieldLabel).join(', ')}`;
}

const pad2 = (n) => String(n).padStart(2, '0');

// Time ticks in 24 h, with seconds only when the ticks are closer than a minute.
function timeTicks(u, splits, axis, space, step) {
  return splits.map((t) => {
    const d = new Date(t * 1000);
    const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
    return step < 60 ? `${hm}:${pad2(d.getSeconds())}` : hm;
  });
}

// A y range that stays readable for a flat line (a channel at 0 A) and for no data.
function yRange(unit) {
  return (u, min, max) => {
    if (min === null || max === null) return [0, 1];
    const span = max - min;
    const pad = span > 0 ? span * 0.08 : Math.abs(max) * 0.1 || (unit === 'A' ? 1e-6 : 1);
    return [min - pad, max + pad];
  };
}

function lastValue(column) {
  for (let i = column.length - 1; i >= 0; i--) if (column[i] !== null && column[i] !== undefined) return column[i];
  return null;
}

function formatter(unit) {
  return unit === 'A' ? (v) => si(v, 'A') : (v) => (v === null || v === undefined ? '—' : `${+v.toFixed(3)}${unit ? ' ' + unit : ''}`);
}

export class Plot {
  // spec: {device, channel, fields}; range: {window} (live) or {since, until, mark} (absolute,
  // with the [start, stop] of a run shaded)
  constructor(spec, store, range, onRemove = null) {
    this.spec = spec;
    this.store = store;
    this.range = range;
    this.units = spec.fields.map((f) => store.device(spec.device)?.meta?.units?.[f] ?? '');
    this.data = [[], ...spec.fields.map(() => [])];
    this.queued = []; // live points that arrived while the history loads
    this.loading = false;
    this.dirty = false;
    this.chart = null;
    this.latest = h('span', { class: 'plot-latest val' });
    this.status = h('span', { class: 'plot-status dim' });
    this.canvas = h('div', { class: 'plot-canvas' });
    const remove = onRemove && h('button', { class: 'btn btn-small', text: '×', 'aria-label': `remove plot ${seriesTitle(spec)}`, onclick: onRemove });
    this.node = h('section', { class: 'card plot', 'aria-label': `plot ${seriesTitle(spec)}` },
      h('header', { class: 'plot-head' }, h('span', { class: 'plot-title', text: seriesTitle(spec) }), this.status,
        h('span', { class: 'spacer' }), this.latest, remove), this.canvas);
    this.resize = new ResizeObserver(() => this.chart && this.chart.setSize({ width: this.width(), height: HEIGHT }));
    this.resize.observe(this.canvas);
  }

  get live() {
    return this.range.window !== undefined;
  }

  get points() {
    return this.data[0].length;
  }

  width() {
    return Math.max(this.canvas.clientWidth, 200);
  }

  async load() {
    this.loading = true;
    setText(this.status, 'loading…');
    const { device, channel, fields } = this.spec;
    const since = this.live ? this.range.window : this.range.since;
    const until = this.live ? undefined : this.range.until;
    const answers = await Promise.allSettled(fields.map((field) => api.history({ device, channel, field, since, until })));
    const failed = answers.find((a) => a.status === 'rejected');
    if (failed && !(failed.reason instanceof ApiError)) throw failed.reason;
    answers.forEach((a, i) => { if (a.value?.unit) this.units[i] = a.value.unit; });
    this.data = join(answers.map((a) => a.value?.points ?? []));
    setText(this.status, failed ? `history: ${failed.reason.detail}` : '');
    this.loading = false;
    for (const [t, values] of this.queued) this.push(t, values);
    this.queued = [];
    this.trim();
    this.dirty = true;
  }

  // A device status arrived: take this plot's point from it.
  take(status) {
    if (!this.live) return;
    const { channel, fields } = this.spec;
    const entry = Array.isArray(status) ? status.find((c) => c?.number === channel) : status;
    if (!entry || typeof entry.ts !== 'number') return;
    const values = fields.map((f) => (typeof entry[f] === 'number' ? entry[f] : null));
    if (this.loading) this.queued.push([entry.ts, values]);
    else if (this.push(entry.ts, values)) {
      this.trim();
      this.dirty = true;
    }
  }

  push(t, values) {
    const xs = this.data[0];
    if (xs.length && t <= xs[xs.length - 1]) return false;
    xs.push(t);
    values.forEach((v, i) => this.data[i + 1].push(v));
    return true;
  }

  trim() {
    const xs = this.data[0];
    const oldest = this.live ? this.store.now() - this.range.window : -Infinity;
    let drop = 0;
    while (drop < xs.length && (xs[drop] < oldest || xs.length - drop > MAX_POINTS)) drop++;
    if (drop) this.data = this.data.map((column) => column.slice(drop));
  }

  draw() {
    this.dirty = false;
    this.node.dataset.points = String(this.points);
    const last = this.points - 1;
    // One field: its latest value large in the header; several: in the legend, by colour.
    const single = this.spec.fields.length === 1;
    setText(this.latest, last < 0 ? 'no data' : single ? quantity(this.data[1][last], this.units[0], 2) : '');
    if (!this.chart) this.chart = new globalThis.uPlot(this.options(), this.data, this.canvas);
    else this.chart.setData(this.data);
  }

  options() {
    const scaleOf = (i) => this.units[i] || 'y';
    const scales = [...new Set(this.spec.fields.map((_, i) => scaleOf(i)))];
    const xRange = () => (this.live ? [this.store.now() - this.range.window, this.store.now()] : [this.range.since, this.range.until]);
    return {
      width: this.width(),
      height: HEIGHT,
      scales: { x: { time: true, range: xRange }, ...Object.fromEntries(scales.map((s) => [s, { range: yRange(s) }])) },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      series: [
        { value: (u, v, si, di) => clock(di === null ? lastValue(u.data[0]) : v) },
        ...this.spec.fields.map((field, i) => ({
          label: fieldLabel(field), scale: scaleOf(i), stroke: COLOURS[i % COLOURS.length], width: 2,
          dash: field === 'vreq' ? [10, 6] : undefined, // a setpoint: dashed, so the readback shows over it
          spanGaps: true, points: { show: false },
          // Away from the cursor, the legend shows the latest value.
          value: (u, v, si, di) => formatter(this.units[i])(di === null ? lastValue(u.data[si]) : v),
        })),
      ],
      hooks: this.range.mark ? { drawAxes: [(u) => shade(u, this.range.mark)] } : {},
      axes: [
        { ...AXIS, space: 70, values: timeTicks },
        ...scales.map((scale, i) => ({ ...AXIS, scale, side: i === 0 ? 3 : 1, size: 80,
          grid: { ...AXIS.grid, show: i === 0 }, values: (u, splits) => splits.map(formatter(scale === 'y' ? '' : scale)) })),
      ],
    };
  }

  destroy() {
    this.resize.disconnect();
    this.chart?.destroy();
    this.node.remove();
  }
}

// Shade a time span (a run) behind the lines.
function shade(u, [start, stop]) {
  const { ctx, bbox } = u;
  const left = Math.max(u.valToPos(start, 'x', true), bbox.left);
  const right = Math.min(u.valToPos(stop, 'x', true), bbox.left + bbox.width);
  if (right <= left) return;
  ctx.save();
  ctx.fillStyle = 'rgba(90, 169, 255, 0.12)';
  ctx.fillRect(left, bbox.top, right - left, bbox.height);
  ctx.restore();
}

// Series of [t, v] (one per field) into uPlot's columns on the union of their times.
function join(seriesList) {
  const rows = new Map();
  seriesList.forEach((points, i) => {
    for (const [t, v] of points) {
      if (!rows.has(t)) rows.set(t, seriesList.map(() => null));
      rows.get(t)[i] = v;
    }
  });
  const times = [...rows.keys()].sort((a, b) => a - b);
  return [times, ...seriesList.map((_, i) => times.map((t) => rows.get(t)[i]))];
}
