// Steering the simulators (experts only on a default stand): the same as `dcs sim`.

import { h } from './dom.js';
import { ReplyBox, parseNumber } from './controls.js';

export class SimulatorPanel {
  constructor(store) {
    this.store = store;
    this.device = h('select', { 'aria-label': 'simulator device', onchange: () => this.fillParameters() });
    this.parameter = h('select', { 'aria-label': 'simulator parameter' });
    this.channel = h('input', { type: 'text', inputmode: 'numeric', placeholder: 'all', 'aria-label': 'simulator channel', size: 4 });
    this.value = h('input', { type: 'text', inputmode: 'decimal', placeholder: 'value', 'aria-label': 'simulator value', size: 8,
      onkeydown: (event) => event.key === 'Enter' && this.send() });
    this.reply = new ReplyBox('simulator');
    this.node = h('section', { class: 'card simulator', 'aria-label': 'simulator', hidden: true },
      h('header', { class: 'dev-head' }, h('span', { class: 'dev-name', text: 'Simulator' }), h('span', { class: 'dim', text: 'steer a simulated device' })),
      h('div', { class: 'toolbar' }, this.device, this.parameter, h('label', {}, 'ch ', this.channel), this.value,
        h('button', { class: 'btn', text: 'Send', onclick: () => this.send() }), this.reply.node));
    store.on('snapshot', () => this.build());
  }

  build() {
    const devices = Object.entries(this.store.state.devices ?? {})
      .filter(([, d]) => (d.meta?.sim_parameters ?? []).length).map(([n]) => n).sort();
    this.node.hidden = !devices.length || !this.store.may('sim');
    this.device.replaceChildren(...devices.map((n) => h('option', { value: n, text: n })));
    this.fillParameters();
  }

  fillParameters() {
    const parameters = this.store.device(this.device.value)?.meta?.sim_parameters ?? [];
    this.parameter.replaceChildren(...parameters.map((p) => h('option', { value: p, text: p })));
  }

  send() {
    const value = parseNumber(this.value.value);
    if (value === null) return this.reply.show('refused', 'a number, please');
    const channel = this.channel.value.trim() === '' ? null : Number(this.channel.value);
    return this.reply.send({ device: this.device.value, command: this.parameter.value, channel, payload: this.value.value.trim(), action: 'sim' },
      `${this.parameter.value} ${this.value.value}`);
  }
}
