// Controls that follow the device, not the click: a command shows "pending…" where it was
// clicked, then the reply as it came; a switch changes only when the device says so.

import { api, ApiError } from './api.js';
import { h, setText, setVariant } from './dom.js';
import { fixed, isNumber } from './format.js';

const ACCEPTED_SHOWN_MS = 10000;
const CONFIRM_WAIT_MS = 15000; // after an accepted switch, how long "pending…" waits for the status

// What a command's answer says, in the words of the device (or of the server).
function outcome(result) {
  if (result instanceof ApiError) {
    if (result.status === 403) return { tone: 'refused', text: `forbidden: ${result.detail}` };
    if (result.status === 504) return { tone: 'error', text: `no reply: ${result.detail}` };
    return { tone: 'error', text: `failed: ${result.detail}` };
  }
  const reply = result?.reply ?? {};
  if (reply.ok) return { tone: 'ok', text: reply.message ? `accepted: ${reply.message}` : 'accepted' };
  return { tone: 'refused', text: `refused: ${reply.reason ?? 'unknown'}: ${reply.message ?? ''}`.trim() };
}

// Where a control's replies appear.
export class ReplyBox {
  constructor(label) {
    this.node = h('output', { class: 'reply', 'aria-label': `${label} reply`, title: 'click to dismiss' });
    this.node.addEventListener('click', () => this.show(null));
    this.timer = null;
  }

  show(tone, text = '') {
    clearTimeout(this.timer);
    setVariant(this.node, 'tone', tone);
    setText(this.node, tone ? text : '');
    if (tone === 'ok') this.timer = setTimeout(() => this.show(null), ACCEPTED_SHOWN_MS);
  }

  // Run a call whose answer is a reply (api.command, api.ack); show it here, return ok.
  async run(call, what = '') {
    this.show('pending', what ? `pending… ${what}` : 'pending…');
    let result;
    try {
      result = await call();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      result = error;
    }
    const { tone, text } = outcome(result);
    this.show(tone, text);
    return tone === 'ok';
  }

  send(request, what = '') {
    return this.run(() => api.command(request), what);
  }
}

// An on/off switch that shows the device's output; a click asks for the other state.
export class Switch {
  // ask: async (wanted) => go ahead?  send: async (wanted) => accepted?
  constructor(label, ask, send) {
    this.ask = ask;
    this.send = send;
    this.on = null;
    this.pending = null;
    this.node = h('button', { class: 'switch', role: 'switch', 'aria-label': label, 'aria-checked': 'false' });
    this.node.addEventListener('click', () => this.click());
  }

  async click() {
    if (this.pending !== null || this.on === null) return;
    const wanted = !this.on;
    if (!(await this.ask(wanted))) return;
    this.pending = wanted;
    this.paint();
    const accepted = await this.send(wanted);
    if (!accepted || this.on === wanted) this.settle();
    else this.timer = setTimeout(() => this.settle(), CONFIRM_WAIT_MS);
  }

  settle() {
    clearTimeout(this.timer);
    this.pending = null;
    this.paint();
  }

  render(on) {
    this.on = on;
    if (this.pending !== null && on === this.pending) this.settle();
    else this.paint();
  }

  paint() {
    const node = this.node;
    const pending = this.pending !== null;
    node.disabled = pending || this.on === null;
    node.setAttribute('aria-checked', this.on ? 'true' : 'false');
    setVariant(node, 'sw', pending ? 'pending' : this.on ? 'on' : 'off');
    setText(node, pending ? 'pending…' : this.on ? 'ON' : 'OFF');
  }
}

export function parseNumber(text) {
  const trimmed = String(text).trim();
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed)) return null;
  return Number(trimmed);
}

// A setpoint field: shows the device's value unless someone is typing in it.
// Enter sends, Esc (or leaving the field) restores the device's value.
export class NumberField {
  constructor(label, digits, submit) {
    this.digits = digits;
    this.submit = submit; // (value: number, text: string) => void
    this.value = null;
    this.node = h('input', {
      class: 'setpoint',
      type: 'text',
      inputmode: 'decimal',
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-label': label,
      title: 'Enter sends, Esc restores',
    });
    this.node.addEventListener('keydown', (event) => this.key(event));
    this.node.addEventListener('input', () => this.node.classList.add('editing'));
    this.node.addEventListener('blur', () => this.restore());
  }

  get editing() {
    return document.activeElement === this.node;
  }

  render(value) {
    this.value = value;
    if (!this.editing) this.restore();
  }

  restore() {
    this.node.classList.remove('editing', 'invalid');
    const text = isNumber(this.value) ? fixed(this.value, this.digits) : '';
    if (this.node.value !== text) this.node.value = text;
  }

  key(event) {
    if (event.key === 'Escape') {
      event.preventDefault();
      this.node.blur();
      this.restore();
    } else if (event.key === 'Enter') {
      event.preventDefault();
      const text = this.node.value.trim();
      const value = parseNumber(text);
      if (value === null) {
        this.node.classList.add('invalid');
        return;
      }
      this.node.blur();
      this.submit(value, text);
    }
  }
}
