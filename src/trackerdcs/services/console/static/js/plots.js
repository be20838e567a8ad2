// The Plots tab: any channel's field and the environment over a chosen window.
// Which plots are open is this browser's own choice (kept in localStorage); the data
// are the archive's and the live feed's.

import { h } from './dom.js';
import { isSupply } from './store.js';
import { readings } from './sensors.js';
import { Plot, seriesTitle } from './plot.js';

const WINDOWS = [['10 min', 600], ['1 h', 3600], ['6 h', 21600], ['24 h', 86400]];
const SUPPLY_FIELDS = ['vmon', 'vreq', 'imon', 'ilimit'];
const DEFAULT_CHANNELS_UP_TO = 4;

function defaults(state) {
  const specs = [];
  const devices = Object.entries(state.devices ?? {}).sort(([a], [b]) => a.localeCompare(b));
  for (const [name, device] of devices) {
    const fields = readings(device.status).filter((f) => ['temperature', 'humidity', 'dewpoint'].includes(f));
    if (fields.length) specs.push({ device: name, channel: null, fields });
  }
  const channels = devices.filter(([, d]) => isSupply(d)).flatMap(([name, d]) => (d.status ?? []).map((c) => [name, c.number]));
  if (channels.length <= DEFAULT_CHANNELS_UP_TO) {
    for (const [device, channel] of channels) {
      specs.push({ device, channel, fields: ['vmon', 'vreq'] }, { device, channel, fields: ['imon'] });
    }
  }
  return specs;
}

export class PlotsTab {
  constructor(root, store) {
    this.root = root;
    this.store = store;
    this.plots = [];
    this.visible = false;
    this.window = Number(localStorage.getItem('dcs.window')) || 600;
    this.windowSelect = h('select', { 'aria-label': 'plot window', onchange: () => this.setWindow(Number(this.windowSelect.value)) },
      WINDOWS.map(([text, s]) => h('option', { value: s, text, selected: s === this.window })));
    this.deviceSelect = h('select', { 'aria-label': 'plot device', onchange: () => this.fillChoices() });
    this.channelSelect = h('select', { 'aria-label': 'plot channel' });
    this.fieldSelect = h('select', { 'aria-label': 'plot field' });
    this.grid = h('div', { class: 'plots' });
    root.append(h('div', { class: 'toolbar' },
      h('label', {}, 'window ', this.windowSelect),
      h('span', { class: 'spacer' }),
      h('label', {}, 'device ', this.deviceSelect), h('label', {}, 'channel ', this.channelSelect),
      h('label', {}, 'field ', this.fieldSelect),
      h('button', { class: 'btn', text: 'Add plot', onclick: () => this.addChosen() })), this.grid);
    store.on('snapshot', () => this.build());
    store.on('device', (name) => this.take(name));
  }

  get key() {
    return `dcs.plots.${this.store.state?.stand ?? ''}`;
  }

  build() {
    for (const plot of this.plots) plot.destroy();
    this.plots = [];
    const saved = JSON.parse(localStorage.getItem(this.key) ?? 'null');
    for (const spec of saved ?? defaults(this.store.state)) this.add(spec, false);
    this.fillDevices();
  }

  add(spec, save = true) {
    const plot = new Plot(spec, this.store, { window: this.window }, () => this.remove(plot));
    this.plots.push(plot);
    this.grid.append(plot.node);
    plot.load().then(() => this.schedule());
    if (save) this.save();
  }

  remove(plot) {
    plot.destroy();
    this.plots = this.plots.filter((p) => p !== plot);
    this.save();
  }

  save() {
    localStorage.setItem(this.key, JSON.stringify(this.plots.map((p) => p.spec)));
  }

  setWindow(seconds) {
    this.window = seconds;
    localStorage.setItem('dcs.window', String(seconds));
    for (const plot of this.plots) {
      plot.range = { window: seconds };
      plot.load().then(() => this.schedule());
    }
  }

  take(name) {
    const status = this.store.device(name)?.status;
    let changed = false;
    for (const plot of this.plots) {
      if (plot.spec.device !== name) continue;
      plot.take(status);
      changed ||= plot.dirty;
    }
    if (changed) this.schedule();
  }

  show(visible) {
    this.visible = visible;
    if (visible) this.schedule();
  }

  // Redraw, on the next frame, only the plots whose data changed, and only if seen.
  schedule() {
    if (this.frame || !this.visible) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      for (const plot of this.plots) if (plot.dirty) plot.draw();
    });
  }

  fillDevices() {
    const names = Object.keys(this.store.state?.devices ?? {}).sort();
    this.deviceSelect.replaceChildren(...names.map((n) => h('option', { value: n, text: n })));
    this.fillChoices();
  }

  fillChoices() {
    const device = this.store.device(this.deviceSelect.value) ?? {};
    const supply = isSupply(device);
    const channels = supply ? (device.status ?? []).map((c) => c.number) : [];
    this.channelSelect.replaceChildren(...channels.map((c) => h('option', { value: c, text: c })));
    this.channelSelect.disabled = !supply;
    this.channelSelect.parentElement.hidden = !supply;
    const fields = supply ? SUPPLY_FIELDS : readings(device.status);
    this.fieldSelect.replaceChildren(...fields.map((f) => h('option', { value: f, text: f })));
  }

  addChosen() {
    const device = this.deviceSelect.value;
    const field = this.fieldSelect.value;
    if (!device || !field) return;
    const channel = this.channelSelect.disabled ? null : Number(this.channelSelect.value);
    const spec = { device, channel, fields: [field] };
    if (this.plots.some((p) => seriesTitle(p.spec) === seriesTitle(spec))) return;
    this.add(spec);
  }
}
