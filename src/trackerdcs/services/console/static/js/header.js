// The header (stand, bus, archive, clock, user, logout) and the connection banner: the
// moment the console's socket drops or the server loses the broker, the page says so
// and greys every value.

import { api } from './api.js';
import { h, setText, setVariant } from './dom.js';
import { clock } from './format.js';

const RECOVERY_SHOWN_MS = 15000;

export class Header {
  constructor(store) {
    this.store = store;
    this.stand = document.getElementById('stand');
    this.bus = document.getElementById('bus');
    this.archive = document.getElementById('archive');
    this.clock = document.getElementById('clock');
    this.user = document.getElementById('user');
    this.banner = document.getElementById('conn-banner');
    document.getElementById('logout').addEventListener('click', async () => {
      await api.logout().catch(() => {});
      location.assign('login');
    });
    this.retry = null;
    this.busSince = null; // when the server's broker session last changed
    this.busDown = null; // when we saw it go down
    this.recovered = null; // {down, back, until}: a disconnection that is over
    store.on('bus', (bus) => this.busChange(bus));
    store.on('snapshot', (state) => {
      this.busSince = state.bus?.since ?? null;
      setText(this.stand, state.stand ?? '');
      document.title = `${state.stand ?? ''} · Tracker DCS`;
      const user = state.user ?? {};
      setText(this.user, `${user.name ?? '?'} · ${user.role ?? '?'}`);
      document.body.dataset.role = user.role ?? 'viewer';
      this.update();
    });
    for (const topic of ['conn', 'archive']) store.on(topic, () => this.update());
    store.on('safety', (keys) => keys.includes('availability') && this.update());
    store.on('retry', (seconds) => {
      this.retry = Date.now() + seconds * 1000;
      this.update();
    });
  }

  // The broker may drop and come back between two updates: a new "since" with connected
  // true says it did, and the operator should know that samples may be missing or late.
  busChange(bus) {
    if (!bus.connected) this.busDown = bus.since ?? this.store.now();
    else if (this.busDown !== null || bus.since !== this.busSince) {
      this.recovered = { down: this.busDown, back: bus.since, until: Date.now() + RECOVERY_SHOWN_MS };
      this.busDown = null;
    }
    this.busSince = bus.since ?? null;
    this.update();
  }

  update() {
    const { store } = this;
    const state = store.state ?? {};
    const bus = state.bus?.connected === true;
    document.body.classList.toggle('lost', !store.live);
    setText(this.bus, !store.connected ? 'bus ?' : bus ? 'bus ● connected' : 'bus ✕ DISCONNECTED');
    setVariant(this.bus, 'pill', !store.connected ? 'unknown' : bus ? 'ok' : 'bad');
    const archive = state.archive ?? {};
    const archiveOk = archive.availability === 'online' && (archive.status?.[0]?.database_up ?? 1) === 1;
    setText(this.archive, archiveOk ? 'archive ● ok' : `archive ✕ ${archive.availability === 'online' ? 'database down' : archive.availability ?? '?'}`);
    setVariant(this.archive, 'pill', !store.live ? 'unknown' : archiveOk ? 'ok' : 'bad');
    const lines = [];
    if (!store.connected) {
      const wait = this.retry ? Math.max(0, Math.ceil((this.retry - Date.now()) / 1000)) : 0;
      lines.push(['CONSOLE DISCONNECTED', `values are not live · reconnecting${wait ? ` in ${wait} s` : '…'}`]);
    } else if (!bus) {
      lines.push(['BROKER DISCONNECTED', `since ${clock(state.bus?.since)} · the console has lost the MQTT broker; values are not live`]);
    } else if (this.recovered && Date.now() < this.recovered.until) {
      const { down, back } = this.recovered;
      const when = down ? `from ${clock(down)} to ${clock(back)}` : `until ${clock(back)}, briefly`;
      lines.push(['BROKER WAS DISCONNECTED', `${when} · samples from then may still arrive late`]);
    } else if (state.safety && state.safety.availability !== 'online') {
      lines.push(['SAFETY SERVICE OFFLINE', 'interlocks and alarms are not being judged']);
    }
    if (this.recovered && Date.now() >= this.recovered.until) this.recovered = null;
    this.banner.hidden = lines.length === 0;
    this.banner.replaceChildren(...lines.map(([title, text]) => h('div', {}, h('strong', { text: title }), ` — ${text}`)));
  }

  tick() {
    setText(this.clock, clock(Date.now() / 1000));
    if (!this.store.connected || this.recovered) this.update();
  }
}
