// The audit log: every command sent through the console, who sent it, the value before,
// and the reply. Newest first.

import { h } from './dom.js';
import { datetime, isNumber } from './format.js';

const SHOWN = 500;

function row(entry) {
  const where = entry.channel === null || entry.channel === undefined ? entry.device : `${entry.device}:${entry.channel}`;
  const result = entry.ok ? 'accepted' : `refused: ${entry.reason ?? '?'}`;
  const before = isNumber(entry.before) ? String(+entry.before.toPrecision(6)) : entry.before ?? '';
  return h('tr', { class: entry.ok ? '' : 'refused' },
    h('td', { class: 'num', text: datetime(entry.ts) }), h('td', { text: `${entry.user ?? '?'} (${entry.role ?? '?'})` }),
    h('td', { text: where ?? '' }), h('td', { text: entry.command ?? '' }), h('td', { class: 'num', text: entry.payload ?? '' }),
    h('td', { class: 'num', text: before }), h('td', { class: entry.ok ? 'tone-ok' : 'tone-refused', text: result }),
    h('td', { text: entry.message ?? '' }));
}

export class AuditTab {
  constructor(root, store) {
    this.body = h('tbody');
    this.empty = h('p', { class: 'empty', text: 'No commands yet.' });
    root.append(h('table', { class: 'table audit-table' }, h('thead', {}, h('tr', {},
      ['time', 'who', 'device', 'command', 'payload', 'before', 'result', 'message'].map((t) => h('th', { scope: 'col', text: t })))), this.body), this.empty);
    store.on('snapshot', (state) => {
      this.body.replaceChildren(...(state.audit ?? []).slice(-SHOWN).reverse().map(row));
      this.empty.hidden = this.body.children.length > 0;
    });
    store.on('audit', (entries) => {
      this.body.prepend(...entries.slice().reverse().map(row));
      while (this.body.children.length > SHOWN) this.body.lastChild.remove();
      this.empty.hidden = true;
    });
  }
}
