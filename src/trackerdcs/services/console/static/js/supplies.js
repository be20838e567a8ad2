// One block per supply (HV, LV, relay): a header with its availability, summary and
// age, and a row per channel with setpoint beside readback. Rows are built once, the
// first time the block is open; an update rewrites only the cells whose text changed.

import { h, setText, setVariant } from './dom.js';
import { age, fixed, isNumber, quantity, voltageDigits } from './format.js';
import { lastSample, staleness } from './store.js';
import { NumberField, ReplyBox, Switch } from './controls.js';
import { confirmAction } from './dialog.js';

const COLUMNS = ['channel', 'state', 'output', 'V set', 'V mon', 'I mon', 'I limit', 'age', 'reply'];

const STATE_TEXT = {
  off: 'OFF',
  on: 'ON',
  ramping_up: 'RAMP ↑',
  ramping_down: 'RAMP ↓',
  tripped: 'TRIPPED',
  error: 'ERROR',
};

function stateText(state) {
  return STATE_TEXT[state] ?? (state ? String(state).toUpperCase() : '—');
}

function columns() {
  return h('colgroup', {}, COLUMNS.map((name) => h('col', { class: `col-${name.replace(' ', '-')}` })));
}

export class SupplyBlock {
  constructor(name, store, expanded) {
    this.name = name;
    this.store = store;
    this.rows = new Map();
    this.toggle = h('button', { class: 'dev-toggle', 'aria-expanded': 'false', onclick: () => this.expand(!this.expanded) },
      h('span', { class: 'chevron', 'aria-hidden': 'true' }), h('span', { class: 'dev-name', text: name }));
    this.kind = h('span', { class: 'dev-kind' });
    this.badge = h('span', { class: 'badge' });
    this.summary = h('span', { class: 'dev-summary val' });
    this.age = h('span', { class: 'dev-age val' });
    this.body = h('tbody');
    this.table = h('table', { class: 'channels', hidden: true }, columns(),
      h('thead', {}, h('tr', {}, COLUMNS.map((c) => h('th', { scope: 'col', text: c })))), this.body);
    this.node = h('section', { class: 'device supply', 'aria-label': `device ${name}` },
      h('header', { class: 'dev-head' }, this.toggle, this.kind, this.badge, this.summary, this.age), this.table);
    this.expanded = false;
    this.update();
    this.expand(expanded);
  }

  get device() {
    return this.store.device(this.name);
  }

  expand(open) {
    this.expanded = open;
    this.node.classList.toggle('open', open);
    this.toggle.setAttribute('aria-expanded', String(open));
    this.table.hidden = !open;
    if (open) this.update();
  }

  update() {
    const device = this.device ?? {};
    const meta = device.meta ?? {};
    setText(this.kind, [meta.kind?.toUpperCase(), meta.driver].filter(Boolean).join(' · '));
    const channels = Array.isArray(device.status) ? device.status : [];
    const count = (test) => channels.filter(test).length;
    const parts = [`${channels.length || meta.channels?.length || 0} ch`, `${count((c) => c?.on)} on`];
    const ramping = count((c) => String(c?.state).startsWith('ramping'));
    if (ramping) parts.push(`${ramping} ramping`);
    const tripped = count((c) => c?.state === 'tripped');
    if (tripped) parts.push(`${tripped} tripped`);
    const errors = count((c) => c?.state === 'error');
    if (errors) parts.push(`${errors} error`);
    setText(this.summary, parts.join(' · '));
    setVariant(this.summary, 'alert', tripped || errors ? 'on' : null);
    if (!this.expanded) return;
    for (const entry of channels) {
      if (!isNumber(entry?.number)) continue;
      let row = this.rows.get(entry.number);
      if (!row) {
        row = new ChannelRow(this, entry.number);
        this.rows.set(entry.number, row);
        this.body.append(row.node);
      }
      row.update(entry, meta);
    }
  }

  tick(now) {
    const device = this.device;
    const why = staleness(device, now);
    setVariant(this.node, 'live', why ? why.replace(' ', '-') : 'ok');
    setText(this.badge, why === null ? '● online' : why === 'stale' ? 'STALE' : why === 'no data' ? 'NO DATA' : why.toUpperCase());
    setVariant(this.badge, 'badge', why === null ? 'online' : why === 'stale' ? 'stale' : 'offline');
    const ts = lastSample(device);
    setText(this.age, ts === null ? '' : age(now - ts));
    if (this.expanded) for (const row of this.rows.values()) row.tick(now);
  }
}

class ChannelRow {
  constructor(block, number) {
    const { store, name } = block;
    this.block = block;
    this.number = number;
    this.ts = null;
    const address = `${name}:${number}`;
    this.address = address;
    this.reply = new ReplyBox(address);
    this.state = h('span', { class: 'state val' });
    this.vmon = h('td', { class: 'num val big', dataset: { col: 'vmon' } });
    this.imon = h('td', { class: 'num val', dataset: { col: 'imon' } });
    this.ilimit = h('td', { class: 'num val dim', dataset: { col: 'ilimit' } });
    this.age = h('td', { class: 'num val dim', dataset: { col: 'age' } });
    const output = h('td', { class: 'output', dataset: { col: 'output' } });
    const vset = h('td', { class: 'num', dataset: { col: 'vset' } });
    if (store.may('switch')) {
      this.switch = new Switch(`${address} output`, (wanted) => this.askSwitch(wanted), (wanted) => this.sendSwitch(wanted));
      output.append(this.switch.node);
    } else {
      this.onText = h('span', { class: 'val' });
      output.append(this.onText);
    }
    if (store.may('reset')) {
      this.reset = h('button', { class: 'btn btn-small', text: 'Reset', hidden: true, 'aria-label': `${address} reset`,
        onclick: () => this.reply.send({ device: name, command: 'reset', channel: number }) });
      output.append(this.reset);
    }
    if (store.may('setv')) {
      this.vset = new NumberField(`${address} voltage setpoint`, 2, (value, text) => this.sendVoltage(value, text));
      const limit = store.state.policy?.expert_above_v;
      if (this.isHV && !store.state.policy?.can_expert && limit !== undefined) {
        this.vset.node.title += `; above ${limit} V: experts only`;
      }
      vset.append(this.vset.node, h('span', { class: 'unit', text: 'V' }));
    } else {
      this.vsetText = h('span', { class: 'val' });
      vset.append(this.vsetText);
    }
    this.node = h('tr', { dataset: { channel: address } },
      h('th', { scope: 'row', class: 'addr', text: address }), h('td', { dataset: { col: 'state' } }, this.state), output, vset,
      this.vmon, this.imon, this.ilimit, this.age, h('td', { class: 'reply-cell' }, this.reply.node));
  }

  get entry() {
    return this.block.store.channel(this.block.name, this.number);
  }

  get isHV() {
    return this.block.device?.meta?.kind === 'hv';
  }

  update(entry, meta) {
    const digits = voltageDigits(meta);
    const units = meta.units ?? {};
    this.ts = entry.ts ?? null;
    setText(this.state, stateText(entry.state));
    setVariant(this.state, 'st', entry.state ?? 'unknown');
    setText(this.vmon, quantity(entry.vmon, units.vmon ?? 'V', digits));
    setText(this.imon, quantity(entry.imon, units.imon ?? 'A'));
    setText(this.ilimit, quantity(entry.ilimit, units.ilimit ?? 'A'));
    if (this.switch) this.switch.render(entry.on === undefined ? null : Boolean(entry.on));
    else setText(this.onText, entry.on ? 'ON' : 'OFF');
    if (this.reset) this.reset.hidden = entry.state !== 'tripped';
    if (this.vset) {
      this.vset.digits = digits;
      this.vset.render(entry.vreq);
    } else {
      setText(this.vsetText, quantity(entry.vreq, 'V', digits));
    }
  }

  tick(now) {
    setText(this.age, this.ts === null ? '—' : age(now - this.ts));
  }

  // Switching HV on asks first.
  async askSwitch(wanted) {
    if (!wanted || !this.isHV) return true;
    const entry = this.entry ?? {};
    const ramp = isNumber(entry.rampup) ? ` at ${fixed(entry.rampup, 1)} V/s` : '';
    return confirmAction(`Switch ${this.address} HV on?`, `The output ramps to ${fixed(entry.vreq, 1)} V${ramp}.`);
  }

  sendSwitch(wanted) {
    const payload = wanted ? 'on' : 'off';
    return this.reply.send({ device: this.block.name, command: 'switch', channel: this.number, payload }, payload);
  }

  async sendVoltage(value, text) {
    const entry = this.entry ?? {};
    if (this.isHV && (!isNumber(entry.vreq) || value > entry.vreq)) {
      const state = entry.on ? 'on: it ramps there at once' : 'off: it applies when switched on';
      const ok = await confirmAction(`Raise ${this.address} to ${text} V?`,
        `From ${fixed(entry.vreq, 1)} V. The output is ${state}.`);
      if (!ok) return;
    }
    await this.reply.send({ device: this.block.name, command: 'setv', channel: this.number, payload: text }, `${text} V`);
  }
}
