// Alarms: a banner readable across the room while any alarm is active or unacknowledged,
// the alarm list with its lifecycle (raised, acknowledged by, cleared), and the rules.
// Severity reads by colour and by line style: minor solid orange, major double red,
// fatal double red on red, invalid dashed magenta.

import { api } from './api.js';
import { h, setText, setVariant } from './dom.js';
import { clock, datetime, isNumber } from './format.js';
import { ReplyBox } from './controls.js';

const LEVEL = { warning: 'minor', minor: 'minor', alarm: 'major', major: 'major', fatal: 'fatal', invalid: 'invalid' };
const RANK = { minor: 1, major: 2, invalid: 2, fatal: 3 };

const level = (severity) => LEVEL[severity] ?? 'invalid';
const acknowledged = (alarm) => Boolean(alarm.acknowledged ?? alarm.acked);
const pending = (alarm) => alarm.active || !acknowledged(alarm);

function order(a, b) {
  return (b.active - a.active) || (acknowledged(a) - acknowledged(b))
    || (RANK[level(b.severity)] - RANK[level(a.severity)]) || ((b.raised_at ?? 0) - (a.raised_at ?? 0));
}

function value(v) {
  return isNumber(v) ? String(Math.round(v * 1000) / 1000) : v ?? '—';
}

function acknowledge(id, box) {
  return box.run(() => api.ack(id), 'acknowledge');
}

export class AlarmBanner {
  constructor(node, store) {
    this.node = node;
    this.store = store;
    this.level = h('span', { class: 'banner-level' });
    this.text = h('span', { class: 'banner-text' });
    this.more = h('a', { class: 'banner-more', href: '#alarms' });
    this.reply = new ReplyBox('banner acknowledge');
    this.ack = h('button', { class: 'btn btn-ack', text: 'Acknowledge', onclick: () => acknowledge(this.current, this.reply) });
    node.append(this.level, this.text, this.more, this.ack, this.reply.node);
    store.on('snapshot', () => this.update());
    store.on('safety', (keys) => keys.includes('alarms') && this.update());
  }

  update() {
    const alarms = (this.store.state?.safety?.alarms ?? []).filter(pending).sort(order);
    this.node.hidden = alarms.length === 0;
    document.body.classList.toggle('has-alarm', alarms.length > 0);
    if (!alarms.length) return;
    const top = alarms[0];
    this.current = top.id;
    const state = top.active ? (acknowledged(top) ? `acknowledged by ${top.acked_by ?? '?'}` : 'NOT ACKNOWLEDGED') : 'cleared, not acknowledged';
    setVariant(this.node, 'sev', level(top.severity));
    setVariant(this.node, 'ack', acknowledged(top) ? 'yes' : 'no');
    setText(this.level, String(top.severity ?? 'alarm').toUpperCase());
    setText(this.text, `${top.id}: ${top.message ?? ''} — ${state}`);
    setText(this.more, alarms.length > 1 ? `+${alarms.length - 1} more` : 'all alarms');
    this.ack.hidden = acknowledged(top) || !this.store.may('ack');
    this.ack.setAttribute('aria-label', `acknowledge ${top.id}`);
  }
}

export class AlarmsTab {
  constructor(root, store, badge) {
    this.store = store;
    this.badge = badge;
    this.rows = new Map();
    this.alarmBody = h('tbody');
    this.ruleBody = h('tbody');
    this.inhibits = h('ul', { class: 'inhibits' });
    this.safety = h('p', { class: 'service-state' });
    const table = (cols, body) => h('table', { class: 'table' }, h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', text: c })))), body);
    this.empty = h('p', { class: 'empty', text: 'No alarms.' });
    root.append(
      this.safety,
      h('h2', { text: 'Alarms' }), this.empty,
      table(['severity', 'alarm', 'message', 'value', 'raised', 'acknowledged', 'cleared', 'state', ''], this.alarmBody),
      h('h2', { text: 'Interlock rules' }), table(['rule', 'state', 'value', 'severity', 'inhibits', 'note'], this.ruleBody),
      h('h2', { text: 'Inhibited' }), this.inhibits);
    store.on('snapshot', () => this.update(['alarms', 'rules', 'inhibit', 'availability']));
    store.on('safety', (keys) => this.update(keys));
  }

  update(keys) {
    const safety = this.store.state?.safety ?? {};
    if (keys.includes('availability')) {
      const online = safety.availability === 'online';
      setText(this.safety, online ? `Safety service ${safety.name ?? ''} online` : `Safety service ${safety.name ?? ''} ${safety.availability ?? 'unknown'}: the values below are not live`);
      setVariant(this.safety, 'badge', online ? 'online' : 'offline');
    }
    if (keys.includes('alarms')) this.alarms(safety.alarms ?? []);
    if (keys.includes('rules')) this.rules(safety.rules ?? {});
    if (keys.includes('inhibit')) {
      const inhibit = safety.inhibit?.inhibit ?? {};
      const notes = safety.inhibit?.notes ?? {};
      const items = Object.entries(inhibit).map(([target, rules]) =>
        h('li', {}, h('strong', { text: target }), ` HV inhibited by ${rules.map((r) => (notes[r] ? `${r} (${notes[r]})` : r)).join(', ')}`));
      this.inhibits.replaceChildren(...(items.length ? items : [h('li', { class: 'dim', text: 'nothing' })]));
    }
  }

  alarms(list) {
    const seen = new Set();
    for (const alarm of [...list].sort(order)) {
      seen.add(alarm.id);
      let row = this.rows.get(alarm.id);
      if (!row) {
        row = new AlarmRow(alarm.id, this.store);
        this.rows.set(alarm.id, row);
      }
      row.update(alarm);
      this.alarmBody.append(row.node); // in order
    }
    for (const [id, row] of this.rows) if (!seen.has(id)) { row.node.remove(); this.rows.delete(id); }
    this.empty.hidden = list.length > 0;
    const count = list.filter(pending).length;
    setText(this.badge, count ? String(count) : '');
    this.badge.hidden = count === 0;
  }

  rules(rules) {
    const rows = Object.entries(rules).sort(([a], [b]) => a.localeCompare(b)).map(([name, rule]) =>
      h('tr', { class: rule.active ? 'firing' : '' }, h('th', { scope: 'row', text: name }),
        h('td', {}, h('span', { class: `rule-state ${rule.active ? 'sev-' + level(rule.severity) : ''}`, text: rule.active ? 'FIRING' : 'clear' })),
        h('td', { class: 'num val', text: value(rule.value) }), h('td', { text: rule.severity ?? '' }),
        h('td', { text: rule.inhibits ? 'yes' : 'no' }), h('td', { text: rule.note ?? '' })));
    this.ruleBody.replaceChildren(...rows);
  }
}

class AlarmRow {
  constructor(id, store) {
    this.id = id;
    this.reply = new ReplyBox(`alarm ${id}`);
    this.cells = Array.from({ length: 8 }, () => h('td'));
    this.severity = h('span', { class: 'sev-chip' });
    this.cells[0].append(this.severity);
    this.ack = store.may('ack')
      ? h('button', { class: 'btn btn-small btn-ack', text: 'Acknowledge', 'aria-label': `acknowledge ${id}`, onclick: () => acknowledge(id, this.reply) })
      : null;
    this.history = h('ol', { class: 'history' });
    this.node = h('tr', { dataset: { alarm: id } }, this.cells, h('td', {}, this.ack, this.reply.node,
      h('details', {}, h('summary', { text: 'history' }), this.history)));
  }

  update(alarm) {
    const [, id, message, val, raised, acked, cleared, state] = this.cells;
    setText(this.severity, String(alarm.severity ?? '').toUpperCase());
    setVariant(this.severity, 'sev', level(alarm.severity));
    setText(id, alarm.id);
    setText(message, alarm.message ?? '');
    setText(val, value(alarm.value));
    setText(raised, datetime(alarm.raised_at) + (alarm.predates_restart ? ' (before restart)' : ''));
    setText(acked, acknowledged(alarm) ? `${alarm.acked_by ?? '?'} at ${clock(alarm.acked_at)}` : '—');
    setText(cleared, alarm.cleared_at ? datetime(alarm.cleared_at) : '—');
    setText(state, alarm.active ? 'ACTIVE' : 'cleared');
    setVariant(this.node, 'alarm', alarm.active ? 'active' : acknowledged(alarm) ? 'done' : 'unacked');
    if (this.ack) this.ack.hidden = acknowledged(alarm);
    this.history.replaceChildren(...(alarm.history ?? []).map((e) =>
      h('li', { text: `${clock(e.ts)} ${e.event}${e.by ? ' by ' + e.by : ''}${e.message ? ': ' + e.message : ''}` })));
  }
}
