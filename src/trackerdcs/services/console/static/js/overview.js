// The overview: modules (as cards when there are few), sensors, then every supply.
// A big stand (hundreds of devices) starts with every supply collapsed to its summary.

import { h } from './dom.js';
import { isSupply } from './store.js';
import { SupplyBlock } from './supplies.js';
import { SensorCard } from './sensors.js';
import { ModuleView, moduleCard } from './modules.js';

const MODULE_CARDS_UP_TO = 12;
const EXPANDED_UP_TO = 48; // channels in all: above this, supplies start collapsed

export class Overview {
  constructor(root, store) {
    this.root = root;
    this.store = store;
    this.blocks = new Map();
    this.modules = new Map();
    store.on('snapshot', () => this.build());
    store.on('device', (name) => this.device(name));
    store.on('modules', (names) => {
      if (this.counts) this.countModules();
      else if (names.some((n) => !this.modules.has(n))) this.build();
      else names.forEach((n) => this.modules.get(n).update());
    });
    store.on('safety', (keys) => keys.includes('inhibit') && this.modules.forEach((v) => v.update()));
  }

  build() {
    const state = this.store.state;
    const names = Object.keys(state.devices ?? {}).sort();
    const supplies = names.filter((n) => isSupply(state.devices[n]));
    const sensors = names.filter((n) => !isSupply(state.devices[n]));
    const channels = supplies.reduce((sum, n) => sum + (state.devices[n].status?.length ?? state.devices[n].meta?.channels?.length ?? 0), 0);
    const expanded = channels <= EXPANDED_UP_TO;
    this.blocks.clear();
    this.modules.clear();
    this.counts = null;
    this.counted = null;
    const top = h('div', { class: 'cards' });
    const moduleNames = Object.keys(state.modules ?? {}).sort();
    if (moduleNames.length <= MODULE_CARDS_UP_TO) {
      for (const name of moduleNames) {
        const view = new ModuleView(name, this.store);
        view.update();
        this.modules.set(name, view);
        top.append(moduleCard(view));
      }
    } else {
      this.counts = h('div', { class: 'module-counts' });
      top.append(h('a', { class: 'card modules-summary', href: '#modules' },
        h('header', { class: 'dev-head' }, h('span', { class: 'dev-name', text: `${moduleNames.length} modules` })), this.counts));
      this.countModules();
    }
    for (const name of sensors) {
      const card = new SensorCard(name, this.store);
      this.blocks.set(name, card);
      top.append(card.node);
    }
    const list = h('div', { class: 'supplies' });
    for (const name of supplies) {
      const block = new SupplyBlock(name, this.store, expanded);
      this.blocks.set(name, block);
      list.append(block.node);
    }
    const tools = !expanded
      ? h('div', { class: 'toolbar' },
        h('button', { class: 'btn btn-small', text: 'Expand all', onclick: () => this.blocks.forEach((b) => b.expand?.(true)) }),
        h('button', { class: 'btn btn-small', text: 'Collapse all', onclick: () => this.blocks.forEach((b) => b.expand?.(false)) }))
      : null;
    this.root.replaceChildren(top, tools ?? '', list);
    this.tick(this.store.now());
  }

  device(name) {
    const block = this.blocks.get(name);
    if (block) block.update();
    else if (this.store.state.devices[name]) this.build(); // a device the snapshot did not have
    for (const view of this.modules.values()) if (view.devices().includes(name)) view.readback();
  }

  // A big stand's modules at a glance: how many are in each state.
  countModules() {
    const counts = {};
    for (const status of Object.values(this.store.state.modules ?? {})) {
      const state = status?.state ?? 'UNKNOWN';
      counts[state] = (counts[state] ?? 0) + 1;
    }
    const key = JSON.stringify(counts);
    if (key === this.counted) return;
    this.counted = key;
    this.counts.replaceChildren(...Object.entries(counts).sort().map(([state, n]) =>
      h('span', { class: `module-count ms-${state}` }, h('strong', { text: n }), ` ${state.replace('_', ' ')}`)));
  }

  tick(now) {
    for (const block of this.blocks.values()) block.tick(now);
    for (const view of this.modules.values()) view.tick(now);
  }
}
