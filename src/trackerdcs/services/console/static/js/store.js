// The page's copy of the server's state. The server is the single source of truth: the
// store only takes a snapshot and then the server's updates; nothing here is optimistic.

const AUDIT_KEPT = 500;

export class Store {
  constructor() {
    this.state = null;
    this.offset = 0; // server clock minus ours, from each message's "now"
    this.connected = false; // the console's own websocket
    this.listeners = new Map();
  }

  on(topic, fn) {
    if (!this.listeners.has(topic)) this.listeners.set(topic, []);
    this.listeners.get(topic).push(fn);
  }

  emit(topic, arg) {
    for (const fn of this.listeners.get(topic) ?? []) fn(arg);
  }

  now() {
    return Date.now() / 1000 + this.offset;
  }

  // Is what we show live? Not when our socket is down or the server lost the broker.
  get live() {
    return this.connected && this.state?.bus?.connected === true;
  }

  setConnected(connected) {
    if (this.connected === connected) return;
    this.connected = connected;
    this.emit('conn', connected);
  }

  snapshot(state) {
    this.state = { ...state, audit: (state.audit ?? []).slice(-AUDIT_KEPT) };
    this.clock(state.now);
    this.emit('snapshot', this.state);
  }

  update(message) {
    const state = this.state;
    if (!state) return;
    this.clock(message.now);
    for (const [name, change] of Object.entries(message.devices ?? {})) {
      state.devices[name] = { ...(state.devices[name] ?? {}), ...change };
      this.emit('device', name);
    }
    if (message.modules) {
      state.modules = { ...(state.modules ?? {}), ...message.modules };
      this.emit('modules', Object.keys(message.modules));
    }
    for (const part of ['safety', 'daq', 'archive']) {
      if (!message[part]) continue;
      state[part] = { ...(state[part] ?? {}), ...message[part] };
      this.emit(part, Object.keys(message[part]));
    }
    if (message.bus) {
      state.bus = message.bus;
      this.emit('bus', state.bus);
    }
    if (message.audit?.length) {
      state.audit = state.audit.concat(message.audit).slice(-AUDIT_KEPT);
      this.emit('audit', message.audit);
    }
  }

  clock(now) {
    if (typeof now === 'number') this.offset = now - Date.now() / 1000;
  }

  // What the logged-in user may send: the server checks it again.
  may(command) {
    const policy = this.state?.policy;
    if (!policy?.can_command) return false;
    return !(policy.expert_commands ?? []).includes(command) || policy.can_expert === true;
  }

  device(name) {
    return this.state?.devices?.[name];
  }

  // One channel's last status entry ("hv:0" or device and number); a sensor's whole status.
  channel(device, number) {
    const status = this.device(device)?.status;
    if (Array.isArray(status)) return status.find((entry) => entry?.number === number) ?? null;
    return status ?? null;
  }
}

// "hv:0" → ["hv", 0]
export function parseAddress(address) {
  const [device, channel] = String(address ?? '').split(':');
  return [device, channel === undefined ? null : Number(channel)];
}

// A supply publishes a list of channels, a sensor an object of readings.
export function isSupply(device) {
  return Array.isArray(device?.status) || (device?.meta?.channels?.length ?? 0) > 0;
}

// The time of a device's newest sample.
export function lastSample(device) {
  const status = device?.status;
  if (Array.isArray(status)) {
    let newest = null;
    for (const entry of status) if (typeof entry?.ts === 'number' && (newest === null || entry.ts > newest)) newest = entry.ts;
    return newest;
  }
  return typeof status?.ts === 'number' ? status.ts : null;
}

// Why a device's values are not live, or null when they are: offline, never reported,
// or its newest sample older than three of its periods.
export function staleness(device, now) {
  if (!device || device.availability === 'offline') return 'offline';
  if (device.availability !== 'online') return 'unknown';
  const ts = lastSample(device);
  if (ts === null) return 'no data';
  const period = device.meta?.period ?? 1;
  return now - ts > Math.max(3 * period, 2) ? 'stale' : null;
}
