// One card per sensor: its readings in large figures, greyed the moment they stop being live.

import { h, setText, setVariant } from './dom.js';
import { age, isNumber, quantity } from './format.js';
import { lastSample, staleness } from './store.js';

const LABELS = { temperature: 'Temperature', humidity: 'Humidity', dewpoint: 'Dew point' };
const FIRST = ['temperature', 'humidity', 'dewpoint'];
const NOT_READINGS = new Set(['ts', 'seq', 'number']);

export function readings(status) {
  if (!status || Array.isArray(status)) return [];
  const fields = Object.keys(status).filter((k) => !NOT_READINGS.has(k) && isNumber(status[k]));
  const rank = (f) => (FIRST.includes(f) ? FIRST.indexOf(f) : FIRST.length);
  return fields.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export function label(field) {
  return LABELS[field] ?? field;
}

export class SensorCard {
  constructor(name, store) {
    this.name = name;
    this.store = store;
    this.fields = '';
    this.cells = new Map();
    this.badge = h('span', { class: 'badge' });
    this.age = h('span', { class: 'dev-age val' });
    this.grid = h('div', { class: 'readings' });
    this.margin = h('div', { class: 'margin val', hidden: true });
    this.node = h('section', { class: 'device sensor card', 'aria-label': `device ${name}` },
      h('header', { class: 'dev-head' }, h('span', { class: 'dev-name', text: name }), this.badge, this.age),
      this.grid, this.margin);
    this.update();
  }

  update() {
    const device = this.store.device(this.name) ?? {};
    const status = device.status;
    const fields = readings(status);
    if (fields.join() !== this.fields) this.build(fields);
    const units = device.meta?.units ?? {};
    for (const field of fields) setText(this.cells.get(field), quantity(status[field], units[field] ?? '', digits(field)));
    const margin = isNumber(status?.temperature) && isNumber(status?.dewpoint) ? status.temperature - status.dewpoint : null;
    this.margin.hidden = margin === null;
    if (margin !== null) setText(this.margin, `above dew point by ${margin.toFixed(1)} °C`);
  }

  build(fields) {
    this.fields = fields.join();
    this.node.classList.toggle('wide', fields.length > 2);
    this.cells.clear();
    this.grid.replaceChildren(...fields.map((field) => {
      const value = h('span', { class: 'reading-value val' });
      this.cells.set(field, value);
      return h('div', { class: 'reading', dataset: { field } }, h('span', { class: 'reading-label', text: label(field) }), value);
    }));
  }

  tick(now) {
    const device = this.store.device(this.name);
    const why = staleness(device, now);
    setVariant(this.node, 'live', why ? why.replace(' ', '-') : 'ok');
    setText(this.badge, why === null ? '● online' : why.toUpperCase());
    setVariant(this.badge, 'badge', why === null ? 'online' : why === 'stale' ? 'stale' : 'offline');
    const ts = lastSample(device);
    setText(this.age, ts === null ? '' : age(now - ts));
  }
}

function digits(field) {
  return FIRST.includes(field) ? 1 : 3;
}
