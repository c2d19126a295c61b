// SPDX-License-Identifier: MIT
// Run detail: the run, its shards (executor, state, attempt, progress,
// timings), the live tail of its log while it runs (GET /runs/{id}/log from
// the last X-Clover-Next-Offset), and kill.
import { api, h, mount, can, badge, fmtTime, fmtDuration, notice, errorText, confirmDanger, FINAL } from './util.js';

const LOG_MAX = 512 * 1024; // characters kept on screen; older output is cut

export async function runPage(main, params) {
  const id = params.id;
  if (!/^[1-9][0-9]*$/.test(id)) {
    mount(main, h('h1', {}, 'Not a run id: ' + id));
    return null;
  }
  const head = h('div');
  const shards = h('div');
  const logPre = h('pre', { class: 'log', id: 'run-log', tabindex: 0 });
  const logState = h('span', { class: 'muted', id: 'log-state' });
  const follow = h('input', { type: 'checkbox', id: 'log-follow', checked: true });
  let offset = 0;
  let run = null;
  let stopped = false;
  let timer = null;
  let misses = 0;

  mount(main, head, h('h2', {}, 'Shards'), shards,
    h('div', { class: 'page-head' }, h('h2', {}, 'Log ', logState),
      h('label', { class: 'check' }, follow, ' Follow')),
    logPre);

  function renderRun() {
    const r = run;
    mount(head,
      h('div', { class: 'page-head' },
        h('h1', {}, 'Run #' + r.id, ' ', h('span', { id: 'run-state' }, badge(r.state))),
        h('div', { class: 'actions' },
          can('operator') && !FINAL.has(r.state) ? h('button', { type: 'button', class: 'danger', id: 'run-kill', onclick: kill }, 'Kill') : null)),
      h('dl', { class: 'props card' },
        h('dt', {}, 'Job'), h('dd', {}, h('a', { href: '#/jobs/' + encodeURIComponent(r.job), id: 'run-job' }, r.job)),
        h('dt', {}, 'Trigger'), h('dd', {}, r.trigger),
        h('dt', {}, 'Scheduled'), h('dd', {}, fmtTime(r.scheduled_at)),
        h('dt', {}, 'Started'), h('dd', {}, fmtTime(r.started_at)),
        h('dt', {}, 'Finished'), h('dd', {}, fmtTime(r.finished_at)),
        h('dt', {}, 'Duration'), h('dd', {}, fmtDuration(r.duration_ms)),
        r.params ? [h('dt', {}, 'Params'), h('dd', { class: 'mono' }, r.params)] : null,
        r.reason ? [h('dt', {}, 'Reason'), h('dd', {}, r.reason)] : null));
    const now = Date.now();
    mount(shards, h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'shards-table' },
      h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'Executor'), h('th', {}, 'State'), h('th', {}, 'Attempt'),
        h('th', {}, 'Progress'), h('th', {}, 'Started'), h('th', {}, 'Time'), h('th', { class: 'hide-narrow' }, 'Exit / message'))),
      h('tbody', {}, (r.shards || []).map((s) => {
        const p = s.progress === null || s.progress === undefined ? (s.state === 'succeeded' ? 1 : null) : s.progress;
        const end = s.finished_at ? new Date(s.finished_at).getTime() : now;
        const took = s.started_at ? end - new Date(s.started_at).getTime() : null;
        return h('tr', {},
          h('td', {}, String(s.index)),
          h('td', {}, s.executor || '—'),
          h('td', {}, badge(s.state)),
          h('td', {}, String(s.attempt)),
          h('td', {}, p === null ? '—' : h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(p * 100) },
            h('div', { class: 'bar' }), h('span', {}, Math.round(p * 100) + '%'))),
          h('td', {}, fmtTime(s.started_at)),
          h('td', {}, fmtDuration(took)),
          h('td', { class: 'hide-narrow' }, s.exit_code !== null && s.exit_code !== undefined ? 'exit ' + s.exit_code : '', s.message ? ' ' + s.message : ''));
      })))));
    // Widths are set through the CSSOM: the CSP allows no inline style attributes.
    shards.querySelectorAll('.progress').forEach((el) => {
      el.querySelector('.bar').style.width = el.getAttribute('aria-valuenow') + '%';
    });
  }

  async function kill() {
    if (!await confirmDanger('Kill run #' + id + '?', 'Its running shards are stopped (the whole process group) and the run ends cancelled.', 'Kill')) return;
    try {
      await api('POST', `/runs/${id}/kill`);
      notice('Kill of run #' + id + ' requested.');
    } catch (e) {
      notice(errorText(e), 'error');
    }
    tick();
  }

  async function pollLog() {
    const r = await api('GET', `/runs/${id}/log?offset=${offset}`, undefined, { raw: true });
    if (!r.ok) throw new Error('log: ' + r.status);
    const text = await r.text();
    const next = parseInt(r.headers.get('X-Clover-Next-Offset') || '', 10);
    if (!isNaN(next)) offset = next;
    if (text) {
      let all = logPre.textContent + text;
      if (all.length > LOG_MAX) all = '[… earlier output cut …]\n' + all.slice(all.length - LOG_MAX);
      logPre.textContent = all;
      if (follow.checked) logPre.scrollTop = logPre.scrollHeight;
    }
    return { state: r.headers.get('X-Clover-Run-State'), empty: text.length === 0 };
  }

  async function tick() {
    if (stopped) return;
    try {
      run = await api('GET', '/runs/' + id);
      renderRun();
      const lg = await pollLog();
      const done = FINAL.has(run.state) && lg.empty;
      const final = FINAL.has(run.state);
      logState.textContent = !final ? '(live)' : done && !logPre.textContent ? '(no output)' : '';
      if (done) return; // final and drained: stop polling
    } catch (e) {
      if (e.status === 404) {
        // A run just triggered reaches the store with the writer's next batch.
        if (++misses <= 10) {
          mount(head, h('h1', {}, 'Run #' + id), h('p', { class: 'muted' }, 'Waiting for the run to be recorded…'));
          if (!stopped) timer = setTimeout(tick, 500);
          return;
        }
        mount(head, h('h1', {}, 'No run #' + id));
        return;
      }
      logState.textContent = errorText(e);
    }
    if (!stopped) timer = setTimeout(tick, 1000);
  }
  await tick();
  return () => { stopped = true; clearTimeout(timer); };
}
