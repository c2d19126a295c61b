// SPDX-License-Identifier: MIT
// Jobs: the list (server-side search by name, filters by label, state and last
// outcome, and keyset paging, so it stays fast with 100,000 jobs), one job with its run history, and the
// create/edit form that validates as you type and previews the schedule
// (GET /cron/preview: description and the next 5 fires in the job's zone).
import {
  api, h, mount, qs, can, badge, fmtTime, fmtTimeIn, fmtAgo, fmtDuration, notice, errorText,
  confirmDanger, dialog, debounce, Pager, ApiError,
} from './util.js';

const PAGE = 50;
/* The filter on the last outcome: GET /jobs?last= (its final run states and "never"). */
const LAST_STATES = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];
const NAME_RE = /^[A-Za-z0-9._-]{1,128}$/;

/* Pause or resume; resolves to the JOB. */
function setPaused(name, paused) {
  return api('POST', `/jobs/${encodeURIComponent(name)}/${paused ? 'pause' : 'resume'}`);
}

/* Asks for params and triggers a run; resolves to the run id or null. */
export async function triggerDialog(name) {
  const params = h('textarea', { id: 'trigger-params', rows: 3, placeholder: 'optional; given to the run as $CLOVER_PARAMS' });
  const v = await dialog('Trigger ' + name + ' now', h('div', {},
    h('label', { for: 'trigger-params' }, 'Parameters'), params), [
    { label: 'Cancel', value: false },
    { label: 'Trigger', value: true, kind: 'primary' },
  ]);
  if (!v) return null;
  try {
    const r = await api('POST', `/jobs/${encodeURIComponent(name)}/trigger`, params.value ? { params: params.value } : {});
    notice(h('span', {}, 'Run ', h('a', { href: '#/runs/' + r.run_id }, '#' + r.run_id), ' started.'));
    return r.run_id;
  } catch (e) {
    notice(errorText(e), 'error');
    return null;
  }
}

async function deleteJob(name) {
  if (!await confirmDanger('Delete job ' + name + '?',
    'The job stops firing and is removed. Its past runs stay in the history until retention removes them.')) return false;
  try {
    await api('DELETE', `/jobs/${encodeURIComponent(name)}`);
    notice('Job ' + name + ' deleted.');
    return true;
  } catch (e) {
    notice(errorText(e), 'error');
    return false;
  }
}

function command(spec) {
  const run = spec.run || {};
  if (run.shell) return run.shell;
  if (run.http) return (run.http.method || 'GET') + ' ' + run.http.url;
  if (run.handler) return 'handler ' + run.handler;
  return '—';
}

/* A job's last outcome (status.last_run): its state, linking to the run; '—' when none. */
function lastRun(lr) {
  if (!lr) return '—';
  return h('a', { href: '#/runs/' + lr.id, title: 'Run #' + lr.id + (lr.finished_at ? ', finished ' + fmtTime(lr.finished_at) : '') },
    badge(lr.state));
}

/* #/jobs: the table. */
export async function jobsPage(main, params, query) {
  const pager = new Pager();
  let search = query.get('search') || '';
  let paused = query.get('paused') || '';
  let label = query.get('label') || '';
  let last = query.get('last') || '';
  const contact = query.get('contact') || ''; // from the contacts page: jobs naming it
  const tbody = h('tbody');
  const status = h('p', { class: 'muted', id: 'jobs-status' });
  const pagerBox = h('div');
  let seq = 0;

  async function load() {
    const mine = ++seq;
    status.textContent = 'Loading…';
    let r;
    try {
      r = await api('GET', '/jobs' + qs({ search, paused, label, contact, last, after: pager.cursor, limit: PAGE }));
    } catch (e) {
      if (mine === seq) status.textContent = errorText(e);
      return;
    }
    if (mine !== seq) return; // a newer search answered first
    pager.next = r.next;
    mount(tbody, r.jobs.map(row));
    status.textContent = r.jobs.length ? '' : (search || paused || label || contact || last ? 'No job matches.' : 'No jobs yet.');
    mount(pagerBox, pager.controls(load));
  }

  function row(j) {
    const st = j.status || {};
    const enc = encodeURIComponent(j.name);
    return h('tr', { 'data-job': j.name },
      h('td', {}, h('a', { href: '#/jobs/' + enc }, j.name)),
      h('td', { class: 'mono' }, j.schedule),
      h('td', { class: 'hide-narrow' }, j.timezone || 'UTC'),
      h('td', {}, st.next_fire_at ? h('span', { title: fmtTime(st.next_fire_at) }, fmtAgo(st.next_fire_at)) : '—'),
      h('td', {}, badge(st.paused ? 'paused' : 'active')),
      h('td', { class: 'last-run' }, lastRun(st.last_run)),
      h('td', { class: 'actions' }, can('operator') ? [
        h('button', { type: 'button', class: 'small', onclick: async () => {
          try { await setPaused(j.name, !st.paused); load(); } catch (e) { notice(errorText(e), 'error'); }
        } }, st.paused ? 'Resume' : 'Pause'),
        h('button', { type: 'button', class: 'small', onclick: () => triggerDialog(j.name) }, 'Trigger'),
        h('a', { class: 'button small', href: '#/jobs/' + enc + '/edit' }, 'Edit'),
      ] : null));
  }

  const searchBox = h('input', {
    type: 'search', id: 'jobs-search', placeholder: 'Search by name', value: search, 'aria-label': 'Search jobs by name',
    oninput: debounce((ev) => { search = ev.target.value.trim(); pager.reset(); load(); }, 250),
  });
  const labelBox = h('input', {
    type: 'search', id: 'jobs-label', placeholder: 'Label key=value', value: label, 'aria-label': 'Filter by target label (key=value)',
    oninput: debounce((ev) => {
      const v = ev.target.value.trim();
      if (v && !/^[^=]+=/.test(v)) { status.textContent = 'A label filter is key=value.'; return; }
      label = v; pager.reset(); load();
    }, 300),
  });
  const pausedSel = h('select', { id: 'jobs-paused', 'aria-label': 'State', onchange: (ev) => { paused = ev.target.value; pager.reset(); load(); } },
    h('option', { value: '' }, 'All states'),
    h('option', { value: 'false' }, 'Active'),
    h('option', { value: 'true' }, 'Paused'));
  pausedSel.value = paused;
  const lastSel = h('select', { id: 'jobs-last', 'aria-label': 'Last run', onchange: (ev) => { last = ev.target.value; pager.reset(); load(); } },
    h('option', { value: '' }, 'Any last run'),
    LAST_STATES.map((s) => h('option', { value: s }, 'Last run ' + s.replace('_', ' '))),
    h('option', { value: 'never' }, 'Never finished'));
  lastSel.value = last;
  mount(main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Jobs'),
      can('operator') ? h('a', { class: 'button primary', href: '#/jobs/new', id: 'new-job' }, 'New job') : null),
    h('div', { class: 'filters' }, searchBox, labelBox, pausedSel, lastSel,
      contact ? h('span', { class: 'chip', id: 'jobs-contact' }, 'naming contact ', h('strong', {}, contact), ' ',
        h('a', { href: '#/jobs', 'aria-label': 'Show all jobs' }, '×')) : null),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'jobs-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Schedule'), h('th', { class: 'hide-narrow' }, 'Zone'),
        h('th', {}, 'Next fire'), h('th', {}, 'State'), h('th', {}, 'Last run'), h('th', {}, ''))),
      tbody)),
    status, pagerBox);
  await load();
}

/* The runs of one job (or all failed runs): a paged table. */
export function runsTable(filter, { refreshMs = 0, id = 'runs-table' } = {}) {
  const pager = new Pager();
  const tbody = h('tbody');
  const status = h('p', { class: 'muted' });
  const pagerBox = h('div');
  const box = h('div', {}, h('div', { class: 'table-wrap' }, h('table', { class: 'table', id },
    h('thead', {}, h('tr', {}, h('th', {}, 'Run'), filter.job ? null : h('th', {}, 'Job'), h('th', {}, 'Scheduled'),
      h('th', { class: 'hide-narrow' }, 'Trigger'), h('th', {}, 'State'), h('th', {}, 'Duration'), h('th', { class: 'hide-narrow' }, 'Reason'))),
    tbody)), status, pagerBox);
  let seq = 0;
  async function load() {
    const mine = ++seq; // a refresh and a page change may cross: the latest wins
    let r;
    try {
      r = await api('GET', '/runs' + qs({ ...filter, before: pager.cursor, limit: 20 }));
    } catch (e) {
      if (mine === seq) status.textContent = errorText(e);
      return;
    }
    if (mine !== seq) return;
    pager.next = r.next;
    mount(tbody, r.runs.map((run) => h('tr', { 'data-run': run.id },
      h('td', {}, h('a', { href: '#/runs/' + run.id }, '#' + run.id)),
      filter.job ? null : h('td', {}, h('a', { href: '#/jobs/' + encodeURIComponent(run.job) }, run.job)),
      h('td', {}, fmtTime(run.scheduled_at)),
      h('td', { class: 'hide-narrow' }, run.trigger),
      h('td', {}, badge(run.state)),
      h('td', {}, fmtDuration(run.duration_ms)),
      h('td', { class: 'hide-narrow reason' }, run.reason || ''))));
    status.textContent = r.runs.length ? '' : 'No runs yet.';
    mount(pagerBox, pager.controls(load));
  }
  let timer = null;
  if (refreshMs) timer = setInterval(() => { if (pager.page === 1) load(); }, refreshMs);
  load();
  return { el: box, stop: () => clearInterval(timer), reload: load };
}

/* #/jobs/:name: one job, its actions and its runs. */
export async function jobPage(main, params) {
  const name = params.name;
  const enc = encodeURIComponent(name);
  let job;
  try {
    job = await api('GET', '/jobs/' + enc);
  } catch (e) {
    if (e.status === 404) {
      mount(main, h('h1', {}, 'No job ' + name), h('p', {}, h('a', { href: '#/jobs' }, 'Back to the jobs')));
      return null;
    }
    throw e;
  }
  const st = job.status || {};
  const runs = runsTable({ job: name }, { refreshMs: 3000 });
  const dl = (pairs) => h('dl', { class: 'props' }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  const spec = { ...job };
  delete spec.status;
  mount(main,
    h('div', { class: 'page-head' },
      h('h1', {}, name, ' ', badge(st.paused ? 'paused' : 'active')),
      h('div', { class: 'actions' }, can('operator') ? [
        h('button', { type: 'button', id: 'job-pause', onclick: async () => {
          try { await setPaused(name, !st.paused); notice(name + (st.paused ? ' resumed.' : ' paused.')); jobPage(main, params); } catch (e) { notice(errorText(e), 'error'); }
        } }, st.paused ? 'Resume' : 'Pause'),
        h('button', { type: 'button', id: 'job-trigger', onclick: async () => { if (await triggerDialog(name)) runs.reload(); } }, 'Trigger now'),
        h('a', { class: 'button', href: '#/jobs/' + enc + '/edit', id: 'job-edit' }, 'Edit'),
        h('button', { type: 'button', class: 'danger', id: 'job-delete', onclick: async () => { if (await deleteJob(name)) location.hash = '#/jobs'; } }, 'Delete'),
      ] : null)),
    job.description ? h('p', {}, job.description) : null,
    h('div', { class: 'card' }, dl([
      ['Schedule', h('span', { class: 'mono' }, job.schedule)],
      ['Time zone', job.timezone || 'UTC'],
      ['Next fire', st.next_fire_at ? `${fmtTime(st.next_fire_at)} (${fmtAgo(st.next_fire_at)})` : '—'],
      ['Last run', lastRun(st.last_run)],
      ['Runs', h('span', { class: 'mono' }, command(job))],
      ['Target', job.target && job.target.labels ? Object.entries(job.target.labels).map(([k, v]) => k + '=' + v).join(', ') : 'any executor'],
      ['Shards', job.shards ? String(job.shards.count || 1) : '1'],
      ['Concurrency', job.concurrency || 'forbid'],
      ['Timeout', job.timeout || 'none'],
      ['Retry', job.retry ? `${job.retry.max || 0} × backoff ${job.retry.backoff || 'default'}` : 'none'],
      ['Contacts', (job.contacts || []).join(', ') || 'none'],
      ['Revision', String(st.revision)],
      ['Updated', fmtTime(st.updated_at)],
    ]),
    h('details', {}, h('summary', {}, 'Spec (JSON)'), h('pre', { class: 'code' }, JSON.stringify(spec, null, 2)))),
    h('h2', {}, 'Run history'),
    runs.el);
  return runs.stop;
}

/* ---- the form ---- */

function labelsText(labels) {
  return labels ? Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(', ') : '';
}

function parseLabels(text) {
  const out = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0) throw new Error(`'${part}' is not key=value`);
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/* #/jobs/new and #/jobs/:name/edit. */
export async function jobFormPage(main, params) {
  const editing = params.name !== undefined;
  let base = {};
  let revision = 0;
  if (editing) {
    const j = await api('GET', '/jobs/' + encodeURIComponent(params.name));
    revision = j.status ? j.status.revision : 0;
    base = { ...j };
    delete base.status;
  }
  const run = base.run || {};
  const kind0 = run.http ? 'http' : run.handler ? 'handler' : 'shell';
  const f = {};
  const field = (id, label, input, help) => {
    f[id] = input;
    input.id = 'f-' + id;
    const err = h('div', { class: 'field-error', id: 'err-' + id, role: 'alert' });
    return h('div', { class: 'field', 'data-field': id }, h('label', { for: 'f-' + id }, label), input, help ? h('div', { class: 'help' }, help) : null, err);
  };
  const setErr = (id, msg) => {
    const el = document.getElementById('err-' + id);
    if (el) el.textContent = msg || '';
    if (f[id]) f[id].setAttribute('aria-invalid', msg ? 'true' : 'false');
  };
  const input = (props) => h('input', { autocomplete: 'off', ...props });
  const sel = (values, value) => { const s = h('select', {}, values.map((v) => h('option', { value: v }, v))); s.value = value; return s; };

  const preview = h('div', { class: 'preview', id: 'cron-preview', 'aria-live': 'polite' });
  const kind = sel(['shell', 'http', 'handler'], kind0);
  const form = h('form', { class: 'card form', id: 'job-form', novalidate: true },
    field('name', 'Name', input({ value: base.name || '', required: true, readonly: editing }), 'Letters, digits, ".", "_" or "-"; at most 128.'),
    field('description', 'Description', input({ value: base.description || '' })),
    h('div', { class: 'row2' },
      field('schedule', 'Schedule', input({ value: base.schedule || '', required: true, placeholder: '0 */5 * * * ?  or  */5 * * * *  or  @every 30s', class: 'mono' })),
      field('timezone', 'Time zone', input({ value: base.timezone || 'UTC', list: 'tz-list' }))),
    preview,
    field('kind', 'Runs', kind),
    field('command', 'Command / URL / handler', input({ value: run.shell || (run.http && run.http.url) || run.handler || '', class: 'mono', placeholder: 'echo hello' })),
    h('div', { class: 'row2' },
      field('labels', 'Target labels', input({ value: labelsText(base.target && base.target.labels), placeholder: 'pool=batch, zone=a' }), 'Executors must have all of them; empty: any.'),
      field('shards', 'Shards', input({ type: 'number', min: 1, max: 10000, value: base.shards ? base.shards.count || 1 : 1 }))),
    h('div', { class: 'row3' },
      field('concurrency', 'If still running', sel(['forbid', 'allow', 'replace', 'serial'], base.concurrency || 'forbid')),
      field('timeout', 'Timeout', input({ value: base.timeout || '', placeholder: 'e.g. 10m (empty: none)' })),
      field('retry', 'Retries', input({ type: 'number', min: 0, max: 100, value: base.retry ? base.retry.max || 0 : 0 }))),
    field('contacts', 'Contacts', input({ value: (base.contacts || []).join(', '), list: 'contact-list', placeholder: 'names, comma separated' }), 'Told when the job fails; see Contacts.'),
    h('label', { class: 'check' }, f.paused = h('input', { type: 'checkbox', id: 'f-paused', checked: !!base.paused }), ' Paused'),
    h('div', { class: 'form-error error', id: 'form-error', role: 'alert' }),
    h('div', { class: 'actions' },
      h('a', { class: 'button', href: editing ? '#/jobs/' + encodeURIComponent(params.name) : '#/jobs' }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary', id: 'job-save' }, editing ? 'Save' : 'Create job')),
    h('datalist', { id: 'tz-list' }, ['UTC', 'Europe/Paris', 'Europe/London', 'Europe/Berlin', 'America/New_York', 'America/Chicago',
      'America/Los_Angeles', 'Asia/Tokyo', 'Asia/Kolkata', 'Asia/Shanghai', 'Australia/Sydney'].map((z) => h('option', { value: z }))),
    h('datalist', { id: 'contact-list' }));

  api('GET', '/contacts?limit=200').then((r) => {
    mount(document.getElementById('contact-list'), (r.contacts || []).map((c) => h('option', { value: c.name })));
  }).catch(() => {});

  /* Builds the spec from the form over the original (members the form does not show are kept). */
  function build() {
    const spec = { ...base };
    spec.name = f.name.value.trim();
    const desc = f.description.value.trim();
    if (desc) spec.description = desc; else delete spec.description;
    spec.schedule = f.schedule.value.trim();
    const tz = f.timezone.value.trim();
    if (tz && tz !== 'UTC') spec.timezone = tz; else delete spec.timezone;
    const cmd = f.command.value.trim();
    const r0 = { ...(base.run || {}) };
    delete r0.shell; delete r0.http; delete r0.handler;
    if (kind.value === 'shell') r0.shell = cmd;
    else if (kind.value === 'http') r0.http = { ...((base.run && base.run.http) || {}), url: cmd };
    else r0.handler = cmd;
    spec.run = r0;
    const labels = parseLabels(f.labels.value);
    if (Object.keys(labels).length) spec.target = { ...(base.target || {}), labels };
    else if (spec.target) { spec.target = { ...spec.target }; delete spec.target.labels; if (!Object.keys(spec.target).length) delete spec.target; }
    const shards = parseInt(f.shards.value, 10) || 1;
    if (shards > 1 || (base.shards && base.shards.count)) spec.shards = { ...(base.shards || {}), count: shards };
    if (f.concurrency.value !== 'forbid' || base.concurrency) spec.concurrency = f.concurrency.value;
    const to = f.timeout.value.trim();
    if (to) spec.timeout = to; else delete spec.timeout;
    const retries = parseInt(f.retry.value, 10) || 0;
    if (retries > 0 || base.retry) spec.retry = { ...(base.retry || {}), max: retries };
    const contacts = f.contacts.value.split(',').map((s) => s.trim()).filter(Boolean);
    if (contacts.length) spec.contacts = contacts; else delete spec.contacts;
    spec.paused = f.paused.checked;
    return spec;
  }

  /* Local checks, as you type; the server has the last word on submit. */
  function validate() {
    let ok = true;
    const fail = (id, msg) => { setErr(id, msg); if (msg) ok = false; };
    const name = f.name.value.trim();
    fail('name', !name ? 'A name is required.' : NAME_RE.test(name) ? '' : 'Use 1 to 128 letters, digits, ".", "_" or "-".');
    fail('schedule', f.schedule.value.trim() ? (scheduleError || '') : 'A schedule is required.');
    fail('command', f.command.value.trim() ? (kind.value === 'http' && !/^https?:\/\/\S+$/.test(f.command.value.trim()) ? 'A URL starting with http:// or https://' : '') : 'What should the job run?');
    try { parseLabels(f.labels.value); setErr('labels', ''); } catch (e) { fail('labels', e.message); }
    const n = parseInt(f.shards.value, 10);
    fail('shards', n >= 1 && n <= 10000 ? '' : 'From 1 to 10000.');
    const rt = f.retry.value === '' ? 0 : parseInt(f.retry.value, 10);
    fail('retry', rt >= 0 && rt <= 100 ? '' : 'From 0 to 100.');
    fail('timeout', !f.timeout.value.trim() || /^(\d+(ms|s|m|h|d))+$/.test(f.timeout.value.trim()) ? '' : 'A duration such as 90s, 10m or 1h30m.');
    return ok;
  }

  let scheduleError = '';
  let previewSeq = 0;
  const doPreview = debounce(async () => {
    const expr = f.schedule.value.trim();
    const tz = f.timezone.value.trim() || 'UTC';
    const mine = ++previewSeq;
    if (!expr) { mount(preview); scheduleError = ''; validate(); return; }
    try {
      const r = await api('GET', '/cron/preview' + qs({ expr, tz, n: 5 }));
      if (mine !== previewSeq) return;
      scheduleError = '';
      setErr('timezone', '');
      mount(preview, h('div', { class: 'desc', id: 'cron-desc' }, r.description),
        r.next.length ? h('ol', { class: 'fires' }, r.next.map((t) => h('li', {}, fmtTimeIn(t, r.timezone || tz), ' ',
          h('span', { class: 'muted' }, (r.timezone || tz) + ' (' + fmtAgo(t) + ')'))))
          : h('div', { class: 'muted' }, 'Never fires by itself.'));
    } catch (e) {
      if (mine !== previewSeq) return;
      mount(preview);
      if (e.field === 'tz') { setErr('timezone', e.message); scheduleError = ''; } else scheduleError = e.message;
    }
    validate();
  }, 200);

  form.addEventListener('input', (ev) => {
    if (ev.target === f.schedule || ev.target === f.timezone) doPreview();
    validate();
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const errBox = document.getElementById('form-error');
    errBox.textContent = '';
    if (!validate()) { errBox.textContent = 'Fix the fields marked above.'; return; }
    let spec;
    try { spec = build(); } catch (e) { errBox.textContent = e.message; return; }
    try {
      if (editing) await api('PUT', '/jobs/' + encodeURIComponent(params.name), spec, { headers: { 'If-Match': String(revision) } });
      else await api('POST', '/jobs', spec);
      notice(`Job ${spec.name} ${editing ? 'saved' : 'created'}.`);
      location.hash = '#/jobs/' + encodeURIComponent(spec.name);
    } catch (e) {
      const fld = e instanceof ApiError && e.field ? e.field.split(/[.[]/)[0] : null;
      const map = { run: 'command', target: 'labels', shards: 'shards', retry: 'retry', name: 'name', schedule: 'schedule', timezone: 'timezone', timeout: 'timeout', contacts: 'contacts', concurrency: 'concurrency' };
      if (fld && map[fld]) setErr(map[fld], e.message);
      errBox.textContent = e.status === 409 && editing ? 'Someone changed this job meanwhile: reload the page to edit the current version.' : errorText(e);
    }
  });
  mount(main, h('h1', {}, editing ? 'Edit ' + params.name : 'New job'), form);
  if (base.schedule) doPreview();
  f.name.focus();
  return null;
}
