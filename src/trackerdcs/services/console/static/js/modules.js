// Modules: each one's state machine (OFF … HV_ON, TRIPPED, INTERLOCKED, ERROR) with its
// reason, the readbacks of its LV and HV channels, what inhibits it, and on/off.

import { h, setText, setVariant } from './dom.js';
import { quantity, voltageDigits } from './format.js';
import { parseAddress, staleness } from './store.js';
import { ReplyBox } from './controls.js';
import { confirmAction } from './dialog.js';

// A module's "lv"/"hv": "lv:0", or an object naming the device and channel.
function address(value) {
  if (typeof value === 'string') return parseAddress(value);
  if (value && typeof value === 'object') return [value.device, value.channel ?? value.number ?? null];
  return [null, null];
}

function inhibitors(safety, name) {
  const rules = safety?.inhibit?.inhibit?.[name] ?? [];
  const notes = safety?.inhibit?.notes ?? {};
  return rules.map((rule) => (notes[rule] ? `${rule} (${notes[rule]})` : rule));
}

// The parts of one module's view; a card and a table row lay them out differently.
export class ModuleView {
  constructor(name, store) {
    this.name = name;
    this.store = store;
    this.stateNode = h('span', { class: 'module-state val' });
    this.reason = h('span', { class: 'module-reason val' });
    this.lv = h('span', { class: 'module-rb val' });
    this.hv = h('span', { class: 'module-rb val' });
    this.inhibit = h('span', { class: 'module-inhibit' });
    this.sequence = h('span', { class: 'module-seq dim' });
    this.reply = new ReplyBox(`module ${name}`);
    this.buttons = [];
    if (store.may('on')) {
      const on = h('button', { class: 'btn btn-on', text: 'ON', 'aria-label': `module ${name} on`, onclick: () => this.send('on') });
      const off = h('button', { class: 'btn btn-off', text: 'OFF', 'aria-label': `module ${name} off`, onclick: () => this.send('off') });
      this.buttons = [on, off];
    }
    this.controls = h('span', { class: 'module-controls' }, this.buttons);
  }

  get status() {
    return this.store.state?.modules?.[this.name] ?? null;
  }

  update() {
    const status = this.status ?? {};
    const state = status.state ?? 'UNKNOWN';
    setText(this.stateNode, state.replace('_', ' '));
    setVariant(this.stateNode, 'ms', state);
    setText(this.reason, [status.reason, status.error].filter(Boolean).join(' · '));
    const sequencing = status.sequence && status.sequence !== 'idle' ? `sequencing ${status.sequence}…` : '';
    setText(this.sequence, sequencing);
    const held = inhibitors(this.store.state?.safety, this.name);
    setText(this.inhibit, held.length ? `HV inhibited by ${held.join(', ')}` : '');
    this.readback();
  }

  // The LV and HV channels' readbacks (they change with the devices, not the module).
  readback() {
    const status = this.status ?? {};
    for (const [kind, node] of [['lv', this.lv], ['hv', this.hv]]) {
      const [device, channel] = address(status[kind]);
      const entry = device ? this.store.channel(device, channel) : null;
      const meta = this.store.device(device)?.meta;
      const label = device ? `${kind.toUpperCase()} ${device}:${channel}` : kind.toUpperCase();
      const values = entry ? `${quantity(entry.vmon, 'V', voltageDigits(meta))} · ${quantity(entry.imon, 'A')}` : '—';
      setText(node, `${label}  ${values}`);
      setVariant(node, 'on', entry?.on ? 'yes' : 'no');
    }
  }

  // A readback whose device has gone quiet or offline is greyed, not shown as live.
  tick(now) {
    const status = this.status ?? {};
    for (const [kind, node] of [['lv', this.lv], ['hv', this.hv]]) {
      const [device] = address(status[kind]);
      node.classList.toggle('not-live', Boolean(device) && staleness(this.store.device(device), now) !== null);
    }
  }

  devices() {
    const status = this.status ?? {};
    return [address(status.lv)[0], address(status.hv)[0]].filter(Boolean);
  }

  async send(command) {
    if (command === 'on') {
      const ok = await confirmAction(`Switch module ${this.name} on?`, 'LV on first, then HV ramps to the module’s set voltage.');
      if (!ok) return;
    }
    for (const button of this.buttons) button.disabled = true;
    try {
      await this.reply.send({ device: this.name, command }, command);
    } finally {
      for (const button of this.buttons) button.disabled = false;
    }
  }
}

export function moduleCard(view) {
  return h('section', { class: 'card module', 'aria-label': `module ${view.name}` },
    h('header', { class: 'dev-head' }, h('span', { class: 'dev-name', text: view.name }), view.controls),
    view.stateNode, view.reason, view.sequence, view.lv, view.hv, view.inhibit, view.reply.node);
}

function moduleRow(view) {
  return h('tr', { dataset: { module: view.name } }, h('th', { scope: 'row', text: view.name }),
    h('td', {}, view.stateNode), h('td', {}, view.reason, ' ', view.sequence), h('td', { class: 'num' }, view.lv),
    h('td', { class: 'num' }, view.hv), h('td', {}, view.inhibit), h('td', {}, view.controls), h('td', {}, view.reply.node));
}

// The Modules tab: every module in one table, rows built once.
export class ModulesTab {
  constructor(root, store) {
    this.root = root;
    this.store = store;
    this.views = new Map();
    this.byDevice = new Map();
    store.on('snapshot', () => this.build());
    store.on('modules', (names) => {
      if (names.some((n) => !this.views.has(n))) this.build();
      else names.forEach((n) => this.views.get(n).update());
    });
    store.on('safety', (keys) => keys.includes('inhibit') && this.views.forEach((v) => v.update()));
    store.on('device', (name) => this.byDevice.get(name)?.forEach((v) => v.readback()));
  }

  tick(now) {
    for (const view of this.views.values()) view.tick(now);
  }

  build() {
    const names = Object.keys(this.store.state?.modules ?? {}).sort();
    this.views.clear();
    this.byDevice.clear();
    const body = h('tbody');
    for (const name of names) {
      const view = new ModuleView(name, this.store);
      view.update();
      this.views.set(name, view);
      for (const device of view.devices()) {
        if (!this.byDevice.has(device)) this.byDevice.set(device, []);
        this.byDevice.get(device).push(view);
      }
      body.append(moduleRow(view));
    }
    const head = ['module', 'state', 'reason', 'LV', 'HV', 'inhibits', 'power', 'reply'];
    this.root.replaceChildren(names.length
      ? h('table', { class: 'table modules-table' }, h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col', text: t })))), body)
      : h('p', { class: 'empty', text: 'This stand has no modules.' }));
  }
}
