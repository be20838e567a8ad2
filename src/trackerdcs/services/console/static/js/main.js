// The console page: one websocket feeds one store; every view listens to the store.

import { Store } from './store.js';
import { connect } from './live.js';
import { Header } from './header.js';
import { Overview } from './overview.js';
import { ModulesTab } from './modules.js';
import { AlarmBanner, AlarmsTab } from './alarms.js';
import { PlotsTab } from './plots.js';
import { RunsTab } from './runs.js';
import { AuditTab } from './audit.js';
import { SimulatorPanel } from './simulator.js';

const store = new Store();
const $ = (id) => document.getElementById(id);

const header = new Header(store);
new AlarmBanner($('alarm-banner'), store);
const overview = new Overview($('overview-body'), store);
const simulator = new SimulatorPanel(store);
$('view-overview').append(simulator.node);
const modules = new ModulesTab($('view-modules'), store);
new AlarmsTab($('view-alarms'), store, $('alarm-count'));
const plots = new PlotsTab($('view-plots'), store);
const runs = new RunsTab($('view-runs'), store);
new AuditTab($('view-audit'), store);

const TABS = ['overview', 'modules', 'alarms', 'plots', 'runs', 'audit'];

function route() {
  const [tab, ...rest] = location.hash.replace(/^#/, '').split('/');
  const current = TABS.includes(tab) && !(tab === 'runs' && !store.state?.daq) ? tab : 'overview';
  for (const name of TABS) {
    $(`view-${name}`).hidden = name !== current;
    const link = document.querySelector(`nav a[href="#${name}"]`);
    if (name === current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  plots.show(current === 'plots');
  runs.show(current === 'runs', current === 'runs' && rest.length ? decodeURIComponent(rest.join('/')) : null);
}

store.on('snapshot', (state) => {
  document.querySelector('nav a[href="#runs"]').hidden = !state.daq;
  document.body.dataset.ready = 'true';
  route();
});
window.addEventListener('hashchange', route);

setInterval(() => {
  header.tick();
  if (!store.state) return;
  const now = store.now();
  if (!$('view-overview').hidden) overview.tick(now);
  if (!$('view-modules').hidden) modules.tick(now);
}, 1000);
header.tick();
connect(store);
