// SPDX-License-Identifier: MIT
// Logs: the system event log (GET /events: level, source, node, job,
// message, time) with filters and search, and the runs by state (failed by
// default: the run errors, with their reasons).
import { api, h, mount, qs, badge, fmtTime, debounce, Pager, unavailable } from './util.js';
import { runsTable } from './jobs.js';

export async function logsPage(main, params, query) {
  const tab = query.get('tab') === 'runs' ? 'runs' : 'events';
  const tabs = h('div', { class: 'tabs', role: 'tablist' },
    h('a', { href: '#/logs', role: 'tab', class: tab === 'events' ? 'active' : '', 'aria-selected': tab === 'events' ? 'true' : 'false' }, 'Events'),
    h('a', { href: '#/logs?tab=runs', role: 'tab', id: 'tab-failed', class: tab === 'runs' ? 'active' : '', 'aria-selected': tab === 'runs' ? 'true' : 'false' }, 'Runs'));
  if (tab === 'runs') {
    // Runs by state, failed by default ("run errors"); any state from the dashboard's links.
    let state = query.get('state') || 'failed';
    const box = h('div');
    let t = null;
    const show = () => {
      if (t) t.stop();
      t = runsTable(state ? { state } : {}, { refreshMs: 10000, id: 'failed-runs' });
      mount(box, t.el);
    };
    const sel = h('select', { id: 'runs-state', 'aria-label': 'Run state', onchange: (ev) => {
      state = ev.target.value;
      history.replaceState(null, '', '#/logs?tab=runs&state=' + state);
      show();
    } }, [['', 'All states'], ['failed', 'Failed'], ['timed_out', 'Timed out'], ['lost', 'Lost'], ['skipped', 'Skipped'],
      ['cancelled', 'Cancelled'], ['running', 'Running'], ['pending', 'Pending'], ['succeeded', 'Succeeded']]
      .map(([v, l]) => h('option', { value: v }, l)));
    sel.value = state;
    show();
    mount(main, h('h1', {}, 'Logs'), tabs, h('div', { class: 'filters' }, sel), box);
    return () => t && t.stop();
  }
  const f = { level: query.get('level') || '', source: query.get('source') || '', job: query.get('job') || '', q: query.get('q') || '', from: '', to: '' };
  const pager = new Pager();
  const tbody = h('tbody');
  const status = h('div', { class: 'muted' });
  const pagerBox = h('div');

  let seq = 0;
  async function load() {
    const mine = ++seq; // filters typed quickly: only the latest answer is shown
    const p = { ...f, before: pager.cursor, limit: 50 };
    if (p.from) p.from = new Date(p.from).toISOString();
    if (p.to) p.to = new Date(p.to).toISOString();
    let r;
    try {
      r = await api('GET', '/events' + qs(p));
    } catch (e) {
      if (mine !== seq) return;
      mount(tbody);
      mount(status, e.status === 400 ? h('p', { class: 'error' }, e.message) : unavailable('The event log', e));
      return;
    }
    if (mine !== seq) return;
    pager.next = r.next;
    mount(tbody, r.events.map((ev) => h('tr', { class: 'lvl-' + ev.level },
      h('td', { class: 'nowrap' }, fmtTime(ev.at)),
      h('td', {}, badge(ev.level)),
      h('td', {}, ev.source),
      h('td', { class: 'hide-narrow' }, ev.node || ''),
      h('td', {}, ev.job ? h('a', { href: '#/jobs/' + encodeURIComponent(ev.job) }, ev.job) : '',
        ev.run_id ? [' ', h('a', { href: '#/runs/' + ev.run_id }, '#' + ev.run_id)] : null),
      h('td', { class: 'msg' }, ev.message))));
    mount(status, r.events.length ? '' : 'No event matches.');
    mount(pagerBox, pager.controls(load));
  }
  const reload = () => { pager.reset(); load(); };
  const text = (key, label, type = 'search') => h('input', { type, 'aria-label': label, placeholder: label, value: f[key], id: 'ev-' + key,
    oninput: debounce((ev) => { f[key] = ev.target.value.trim(); reload(); }, 300) });
  const level = h('select', { 'aria-label': 'Level', id: 'ev-level', onchange: (ev) => { f.level = ev.target.value; reload(); } },
    h('option', { value: '' }, 'All levels'), h('option', { value: 'info' }, 'info+'), h('option', { value: 'warn' }, 'warn+'), h('option', { value: 'error' }, 'error'));
  level.value = f.level;
  mount(main, h('h1', {}, 'Logs'), tabs,
    h('div', { class: 'filters' }, level, text('source', 'Source'), text('job', 'Job'), text('q', 'Search messages'),
      h('label', { class: 'inline' }, 'From ', text('from', 'From', 'datetime-local')),
      h('label', { class: 'inline' }, 'To ', text('to', 'To', 'datetime-local'))),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'events-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'Level'), h('th', {}, 'Source'), h('th', { class: 'hide-narrow' }, 'Node'), h('th', {}, 'Job'), h('th', {}, 'Message'))),
      tbody)),
    status, pagerBox);
  await load();
  return null;
}
