// Runs: the DAQ service's state with start and stop, the runs from the store with filters,
// and one run's page: its record and its conditions plotted over its window.

import { api, ApiError } from './api.js';
import { h, setText, setVariant } from './dom.js';
import { datetime, duration, isNumber, quantity, voltageDigits } from './format.js';
import { ReplyBox } from './controls.js';
import { Plot } from './plot.js';

const STATUSES = ['', 'done', 'failed', 'aborted', 'interlocked', 'running'];
const BUSY = new Set(['starting', 'configuring', 'running', 'stopping']);
const MARGIN_S = 30;
const RECORD_DELAY_MS = 3000; // conditions plotted this much before and after a run

// A record's time: epoch seconds, or an ISO string.
function epoch(value) {
  if (isNumber(value)) return value;
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isNaN(ms) ? null : ms / 1000;
}

export class RunsTab {
  constructor(root, store) {
    this.root = root;
    this.store = store;
    this.visible = false;
    this.stale = true;
    this.plots = [];
    this.list = h('div', { class: 'runs-list' });
    this.page = h('div', { class: 'run-page', hidden: true });
    this.daqPanel();
    this.filters = {
      calibration: h('input', { type: 'text', placeholder: 'any', 'aria-label': 'filter calibration', list: 'calibrations' }),
      module: h('input', { type: 'text', placeholder: 'any', 'aria-label': 'filter module' }),
      status: h('select', { 'aria-label': 'filter status' }, STATUSES.map((s) => h('option', { value: s, text: s || 'any' }))),
      limit: h('select', { 'aria-label': 'runs shown' }, [20, 50, 200].map((n) => h('option', { value: n, text: n, selected: n === 50 }))),
    };
    for (const input of Object.values(this.filters)) input.addEventListener('change', () => this.refresh());
    this.table = h('tbody');
    this.message = h('p', { class: 'dim' });
    this.list.append(
      h('div', { class: 'toolbar' }, Object.entries(this.filters).map(([name, input]) => h('label', {}, `${name} `, input)),
        h('button', { class: 'btn', text: 'Refresh', onclick: () => this.refresh() })),
      h('table', { class: 'table runs-table' }, h('thead', {}, h('tr', {},
        ['run', 'calibration', 'modules', 'status', 'started', 'duration', 'operator', 'note'].map((t) => h('th', { scope: 'col', text: t })))), this.table),
      this.message);
    root.append(this.panel, this.list, this.page);
    store.on('snapshot', () => this.daqUpdate());
    store.on('daq', () => this.daqUpdate());
  }

  daqPanel() {
    this.daqState = h('span', { class: 'daq-state val' });
    this.daqInfo = h('span', { class: 'daq-info val' });
    this.reply = new ReplyBox('daq');
    this.calibration = h('input', { type: 'text', list: 'calibrations', placeholder: 'calibration', 'aria-label': 'calibration' });
    this.note = h('input', { type: 'text', placeholder: 'note (optional)', 'aria-label': 'run note' });
    this.calibrations = h('datalist', { id: 'calibrations' });
    this.start = h('button', { class: 'btn btn-on', text: 'Start run', onclick: () => this.startRun() });
    this.stop = h('button', { class: 'btn btn-off', text: 'Stop run', onclick: () => this.stopRun() });
    this.controls = h('div', { class: 'daq-controls', hidden: true }, this.calibration, this.note, this.start, this.stop, this.reply.node);
    this.panel = h('section', { class: 'card daq', 'aria-label': 'DAQ' },
      h('header', { class: 'dev-head' }, h('span', { class: 'dev-name', text: 'DAQ' }), this.daqState, this.daqInfo), this.controls, this.calibrations);
  }

  get daq() {
    return this.store.state?.daq ?? null;
  }

  daqUpdate() {
    const daq = this.daq;
    if (!daq) return;
    const status = daq.status ?? {};
    const state = daq.availability === 'online' ? status.state ?? 'unknown' : daq.availability ?? 'unknown';
    setText(this.daqState, String(state).toUpperCase());
    setVariant(this.daqState, 'daq', state);
    const info = [
      isNumber(status.run) ? `run ${status.run}` : null, status.calibration, (status.modules ?? []).join(', ') || null,
      status.step ? `step ${status.step}` : null, isNumber(status.elapsed) ? duration(status.elapsed) : null,
      status.error_class, status.stop_reason, status.store_pending ? `${status.store_pending} waiting for the store` : null,
    ].filter(Boolean);
    setText(this.daqInfo, info.join(' · '));
    const may = this.store.may('start');
    this.controls.hidden = !may;
    this.start.disabled = !may || BUSY.has(state);
    this.stop.disabled = !may || !BUSY.has(state);
    const calibrations = daq.calibrations ?? [];
    if (calibrations.join() !== this.known) {
      this.known = calibrations.join();
      this.calibrations.replaceChildren(...calibrations.map((c) => h('option', { value: c })));
    }
    const key = `${status.id}/${status.state}/${status.store_pending}`;
    if (key !== this.seen) {
      this.seen = key;
      this.stale = true;
      if (this.visible) this.refresh();
      // A run's record reaches the store a moment after it ends: look again then.
      if (!BUSY.has(state)) setTimeout(() => this.visible && this.refresh(), RECORD_DELAY_MS);
    }
  }

  async startRun() {
    const calibration = this.calibration.value.trim();
    if (!calibration) return this.reply.show('refused', 'choose a calibration');
    const body = { calibration, operator: this.store.state.user?.name };
    if (this.note.value.trim()) body.note = this.note.value.trim();
    await this.reply.send({ device: this.daq.name ?? 'daq', command: 'start', payload: JSON.stringify(body) }, `start ${calibration}`);
  }

  stopRun() {
    return this.reply.send({ device: this.daq.name ?? 'daq', command: 'stop' }, 'stop');
  }

  show(visible, id = null) {
    this.visible = visible;
    if (!visible) return;
    this.list.hidden = id !== null;
    this.page.hidden = id === null;
    if (id !== null) this.openRun(id);
    else if (this.stale) this.refresh();
  }

  async refresh() {
    this.stale = false;
    const params = Object.fromEntries(Object.entries(this.filters).map(([k, input]) => [k, input.value.trim()]));
    let runs;
    try {
      runs = (await api.runs(params)).runs ?? [];
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      setText(this.message, `runs: ${error.detail}`);
      return;
    }
    setText(this.message, runs.length ? '' : 'No runs match.');
    this.table.replaceChildren(...runs.map((run) => h('tr', { dataset: { run: run.id } },
      h('th', { scope: 'row' }, h('a', { href: `#runs/${encodeURIComponent(run.id)}`, text: run.run ?? run.id })),
      h('td', { text: run.calibration ?? '' }), h('td', { text: (run.modules ?? []).join(', ') }),
      h('td', {}, h('span', { class: `run-status run-${run.status}`, text: run.status ?? '' })),
      h('td', { class: 'num', text: run.start_local ?? datetime(epoch(run.start)) }),
      h('td', { class: 'num', text: duration(run.duration) }), h('td', { text: run.operator ?? '' }), h('td', { text: run.note ?? '' }))));
  }

  async openRun(id) {
    for (const plot of this.plots) plot.destroy();
    this.plots = [];
    this.page.replaceChildren(h('a', { href: '#runs', class: 'back', text: '← all runs' }), h('p', { text: 'loading…' }));
    let run;
    try {
      run = (await api.run(id)).run;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.page.lastChild.textContent = `run ${id}: ${error.detail}`;
      return;
    }
    const start = epoch(run.start) ?? run.launched_at;
    const stop = epoch(run.stop) ?? this.store.now();
    const field = (name, value) => (value === null || value === undefined || value === '' ? null : [h('dt', { text: name }), h('dd', { text: value })]);
    const record = h('dl', { class: 'record' }, [
      field('record', run.id), field('calibration', run.calibration), field('modules', (run.modules ?? []).join(', ')),
      field('status', run.status), field('started', run.start_local ?? datetime(start)), field('stopped', run.stop_local ?? datetime(epoch(run.stop))),
      field('duration', duration(run.duration)), field('operator', run.operator), field('note', run.note),
      field('config', run.config), field('steps', (run.steps ?? []).join(', ')), field('error', [run.error_class, run.error_line].filter(Boolean).join(': ')),
      field('stop', [run.stop_reason, run.stop_detail].filter(Boolean).join(': ')), field('exit code', run.exit_code),
      ...Object.entries(run.files ?? {}).map(([k, v]) => field(k, v)),
    ].filter(Boolean).flat());
    const meta = (c) => this.store.device(c.device)?.meta;
    const unit = (c) => meta(c)?.units?.[c.field] ?? '';
    const digits = (c) => (unit(c) === 'V' ? voltageDigits(meta(c)) : 2);
    const conditions = h('table', { class: 'table' }, h('thead', {}, h('tr', {}, ['signal', 'samples', 'min', 'mean', 'max'].map((t) => h('th', { text: t })))),
      h('tbody', {}, (run.conditions ?? []).map((c) => h('tr', {}, h('th', { scope: 'row', text: c.signal }),
        h('td', { class: 'num', text: c.count ?? '—' }),
        ...[c.min, c.mean, c.max].map((v) => h('td', { class: 'num', text: quantity(v, unit(c), digits(c)) }))))));
    const grid = h('div', { class: 'plots' });
    this.page.replaceChildren(h('a', { href: '#runs', class: 'back', text: '← all runs' }),
      h('h2', { text: `Run ${run.run ?? ''} · ${run.calibration ?? ''} · ${run.status ?? ''}` }), record,
      h('h3', { text: 'Conditions' }), conditions, grid,
      run.log_tail?.length ? h('details', {}, h('summary', { text: 'Ph2_ACF log (tail)' }), h('pre', { class: 'log', text: run.log_tail.join('\n') })) : '');
    for (const spec of conditionPlots(run.conditions ?? [], (device) => this.store.device(device)?.meta?.units)) {
      const plot = new Plot(spec, this.store, { since: start - MARGIN_S, until: stop + MARGIN_S, mark: [start, stop] });
      this.plots.push(plot);
      grid.append(plot.node);
      plot.load().then(() => plot.draw());
    }
  }
}

// The run's conditions, one plot per device channel (a sensor: per device); a derived
// signal the device does not publish (env.dewpoint_margin) has no history to plot.
function conditionPlots(conditions, unitsOf) {
  const groups = new Map();
  for (const c of conditions) {
    if (!c.device || !c.field) continue;
    const units = unitsOf(c.device);
    if (units && !(c.field in units)) continue;
    const channel = c.channel === null || c.channel === undefined || c.channel === '' ? null : Number(c.channel);
    const key = `${c.device}:${channel}`;
    if (!groups.has(key)) groups.set(key, { device: c.device, channel, fields: [] });
    groups.get(key).fields.push(c.field);
  }
  return [...groups.values()];
}
