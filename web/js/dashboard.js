// SPDX-License-Identifier: MIT
// Dashboard: counts (jobs, paused, running, failed and misfired in 24 h,
// executors, schedulers), runs per minute/hour by outcome, lateness
// percentiles over 24 h, the latest failures and the next fires, all from
// one call (GET /stats, computed from the store's rollup: its cost does not
// grow with the number of jobs or runs). Refreshed every 10 s.
import { api, h, mount, badge, fmtTime, fmtAgo, fmtDuration, unavailable, errorText } from './util.js';
import { stackedBars, latenessLines } from './chart.js';

export async function dashboardPage(main) {
  const body = h('div', { id: 'dashboard' });
  const stamp = h('span', { class: 'muted small' });
  mount(main, h('div', { class: 'page-head' }, h('h1', {}, 'Dashboard'), stamp), body);

  async function load() {
    let s;
    try {
      s = await api('GET', '/stats');
    } catch (e) {
      if (e.status === 401) return;
      mount(body, unavailable('Statistics', e));
      return;
    }
    stamp.textContent = 'updated ' + fmtTime(new Date().toISOString());
    const count = (label, v, href, cls) => h('a', { class: 'count ' + (cls || ''), href: href || '#/' },
      h('span', { class: 'n' }, v === undefined || v === null ? '—' : String(v)), h('span', { class: 'l' }, label));
    mount(body,
      h('section', { class: 'counts', id: 'counts', 'aria-label': 'Counts' },
        count('jobs', s.jobs, '#/jobs'),
        count('paused', s.paused, '#/jobs?paused=true', s.paused ? 'warn' : ''),
        count('running now', s.running, '#/logs?tab=runs&state=running'),
        count('failed 24 h', s.failed_24h, '#/logs?tab=runs', s.failed_24h ? 'bad' : ''),
        count('misfired 24 h', s.misfired_24h, '#/logs?q=misfire', s.misfired_24h ? 'warn' : ''),
        count('executors', s.executors, '#/cluster'),
        count('schedulers', s.schedulers, '#/cluster')),
      h('section', { class: 'charts' },
        stackedBars(s.runs_per_minute || [], { title: 'Runs per minute (last hour)', id: 'chart-minutes' }),
        stackedBars(s.runs_per_hour || [], { title: 'Runs per hour (last 24 h)', id: 'chart-hours' }),
        latenessLines(s.lateness || [], { title: 'Lateness percentiles per hour (24 h)', id: 'chart-lateness' })),
      h('section', { class: 'two' },
        h('div', { class: 'card' }, h('h2', {}, 'Latest failures'),
          (s.latest_failures || []).length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'latest-failures' },
            h('thead', {}, h('tr', {}, h('th', {}, 'Run'), h('th', {}, 'Job'), h('th', {}, 'State'), h('th', {}, 'When'), h('th', { class: 'hide-narrow' }, 'Took'))),
            h('tbody', {}, s.latest_failures.map((r) => h('tr', {},
              h('td', {}, h('a', { href: '#/runs/' + r.id }, '#' + r.id)),
              h('td', {}, h('a', { href: '#/jobs/' + encodeURIComponent(r.job) }, r.job)),
              h('td', {}, badge(r.state)),
              h('td', { title: fmtTime(r.finished_at || r.scheduled_at) }, fmtAgo(r.finished_at || r.scheduled_at)),
              h('td', { class: 'hide-narrow' }, fmtDuration(r.duration_ms))))))) : h('p', { class: 'muted' }, 'No failures. ')),
        h('div', { class: 'card' }, h('h2', {}, 'Next fires'),
          (s.next_fires || []).length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'next-fires' },
            h('thead', {}, h('tr', {}, h('th', {}, 'Job'), h('th', {}, 'At'), h('th', {}, 'In'))),
            h('tbody', {}, s.next_fires.map((f) => h('tr', {},
              h('td', {}, h('a', { href: '#/jobs/' + encodeURIComponent(f.job) }, f.job)),
              h('td', {}, fmtTime(f.at)),
              h('td', {}, fmtAgo(f.at))))))) : h('p', { class: 'muted' }, 'Nothing scheduled.'))));
  }
  try {
    await load();
  } catch (e) {
    mount(body, h('p', { class: 'error' }, errorText(e)));
  }
  const timer = setInterval(load, 10000);
  return () => clearInterval(timer);
}
