// SPDX-License-Identifier: MIT
// Cluster: the schedulers (leader, epoch, partitions), the executors (labels,
// capacity, running, heartbeat age; disable/enable/drain for operators), and
// the coordination tree browser (GET /coord; admins may edit a node's data or
// delete a stale node after confirming).
import { api, h, mount, qs, can, badge, fmtAgo, fmtTime, fmtLabels, notice, errorText, confirmDanger, unavailable } from './util.js';

export async function clusterPage(main, params, query) {
  const sched = h('div', { id: 'schedulers' });
  const execs = h('div', { id: 'executors' });
  const coord = h('div', { id: 'coord' });
  const modeEl = h('span', { class: 'muted' });
  mount(main, h('div', { class: 'page-head' }, h('h1', {}, 'Cluster ', modeEl)),
    h('h2', {}, 'Schedulers'), sched,
    h('h2', {}, 'Executors'), execs,
    h('h2', {}, 'Coordination tree'), coord);

  async function loadCluster() {
    let c;
    try {
      c = await api('GET', '/cluster');
    } catch (e) {
      mount(sched, unavailable('Cluster state', e));
      return;
    }
    modeEl.textContent = c.mode ? '(' + c.mode + ')' : '';
    const ss = c.schedulers || [];
    // Epoch and partitions come from the tree when /cluster does not say them.
    const [leader, assign] = await Promise.all(['/clover/leader', '/clover/assignment'].map((p) =>
      api('GET', '/coord' + qs({ path: p })).then((n) => JSON.parse(n.data || 'null')).catch(() => null)));
    const owners = assign && assign.owners ? Object.values(assign.owners) : [];
    const parts = (s) => {
      if (Array.isArray(s.partitions)) return String(s.partitions.length);
      if (s.partitions !== undefined) return String(s.partitions);
      if (!owners.length) return '—';
      const mine = owners.filter((o) => o === s.id).length;
      return String(mine || (ss.length === 1 ? owners.length : 0));
    };
    const epoch = (s) => s.epoch !== undefined ? String(s.epoch)
      : c.epoch !== undefined ? String(c.epoch) : leader && s.leader ? String(leader.epoch) : '—';
    mount(sched, h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'schedulers-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Id'), h('th', {}, 'Role'), h('th', {}, 'Epoch'), h('th', {}, 'Partitions'),
        h('th', { class: 'hide-narrow' }, 'Address'), h('th', {}, 'Version'))),
      h('tbody', {}, ss.map((s) => h('tr', {},
        h('td', {}, s.id),
        h('td', {}, s.leader ? badge('leader') : 'follower'),
        h('td', {}, epoch(s)),
        h('td', {}, parts(s)),
        h('td', { class: 'hide-narrow mono' }, s.api || s.address || ''),
        h('td', {}, s.version || '')))))));
    renderExecutors(c.executors || []);
  }

  function renderExecutors(list) {
    const now = Date.now();
    mount(execs, list.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'executors-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Id'), h('th', { class: 'hide-narrow' }, 'Host'), h('th', {}, 'Labels'),
        h('th', {}, 'Running'), h('th', {}, 'Heartbeat'), h('th', {}, 'State'), h('th', {}, ''))),
      h('tbody', {}, list.map((x) => h('tr', { 'data-executor': x.id },
        h('td', {}, x.id),
        h('td', { class: 'hide-narrow' }, x.host || ''),
        h('td', { class: 'labels' }, fmtLabels(x.labels)),
        h('td', {}, `${x.running} / ${x.capacity}`, h('meter', { min: 0, max: x.capacity || 1, value: x.running || 0, class: 'hide-narrow' })),
        h('td', {}, x.last_heartbeat ? fmtAgo(x.last_heartbeat, now) : '—'),
        h('td', {}, badge(x.enabled ? x.state : (x.state === 'draining' ? 'draining' : 'disabled'))),
        h('td', { class: 'actions' }, can('operator') ? [
          x.enabled ? h('button', { type: 'button', class: 'small', onclick: () => control(x.id, 'disable') }, 'Disable')
            : h('button', { type: 'button', class: 'small', onclick: () => control(x.id, 'enable') }, 'Enable'),
          x.id !== 'local' && x.state !== 'draining' ? h('button', { type: 'button', class: 'small', onclick: () => control(x.id, 'drain') }, 'Drain') : null,
        ] : null)))))) : h('p', { class: 'muted' }, 'No executor connected.'));
  }

  async function control(id, op) {
    if (op === 'drain' && !await confirmDanger('Drain ' + id + '?', 'It finishes its running shards, takes no new ones, then leaves.', 'Drain')) return;
    try {
      await api('POST', `/executors/${encodeURIComponent(id)}/${op}`);
      notice(`${op} of ${id} requested.`);
    } catch (e) {
      notice(errorText(e), 'error');
    }
    setTimeout(loadCluster, 300);
  }

  /* ---- the coordination tree ---- */
  let path = query.get('path') || '/';

  function join(parent, child) {
    return parent === '/' ? '/' + child : parent + '/' + child;
  }

  async function loadCoord() {
    let n;
    try {
      n = await api('GET', '/coord' + qs({ path }));
    } catch (e) {
      if (e.status === 404 && e.code === 'not_found' && path !== '/' && e.field !== null) {
        mount(coord, h('p', { class: 'error' }, errorText(e)), h('button', { type: 'button', onclick: () => go('/') }, 'Back to /'));
        return;
      }
      mount(coord, unavailable('The coordination tree', e));
      return;
    }
    const parts = path.split('/').filter(Boolean);
    const crumbs = [h('a', { href: '#', onclick: (ev) => { ev.preventDefault(); go('/'); } }, '/')];
    parts.forEach((p, i) => {
      const to = '/' + parts.slice(0, i + 1).join('/');
      crumbs.push(h('a', { href: '#', onclick: (ev) => { ev.preventDefault(); go(to); } }, p), i < parts.length - 1 ? ' / ' : '');
    });
    const kids = (n.children || []).map((c) => (typeof c === 'string' ? { name: c } : c));
    const data = n.data === null || n.data === undefined ? '' : (typeof n.data === 'string' ? n.data : JSON.stringify(n.data, null, 2));
    const editable = can('admin') && !n.ephemeral;
    const editor = h('textarea', { id: 'coord-data', rows: 6, class: 'mono', readonly: !editable }, data);
    editor.value = data;
    const meta = Object.entries(n).filter(([k]) => !['path', 'data', 'children'].includes(k))
      .map(([k, v]) => [h('dt', {}, k), h('dd', {}, /_at$|time/.test(k) && typeof v === 'string' ? fmtTime(v) : typeof v === 'object' ? JSON.stringify(v) : String(v))]);
    mount(coord, h('div', { class: 'card coord' },
      h('div', { class: 'crumbs', id: 'coord-path' }, crumbs),
      h('div', { class: 'coord-grid' },
        h('div', {}, h('h3', {}, 'Children (' + kids.length + ')'),
          kids.length ? h('ul', { class: 'children', id: 'coord-children' }, kids.map((c) =>
            h('li', {}, h('a', { href: '#', onclick: (ev) => { ev.preventDefault(); go(join(path, c.name)); } }, c.name)))) : h('p', { class: 'muted' }, 'none')),
        h('div', {}, h('h3', {}, 'Data'), editor,
          meta.length ? h('dl', { class: 'props small' }, meta) : null,
          n.ephemeral ? h('p', { class: 'muted small' }, `Ephemeral: it lives as long as the session ${n.owner || ''}. `,
            'To remove an executor, drain or disable it above.') : null,
          editable ? h('div', { class: 'actions' },
            h('button', { type: 'button', id: 'coord-save', onclick: () => save(n, editor.value) }, 'Save data'),
            path !== '/' ? h('button', { type: 'button', class: 'danger', id: 'coord-delete', onclick: () => del(n) }, 'Delete node') : null) : null))));
  }

  function go(p) {
    path = p;
    history.replaceState(null, '', '#/cluster' + (p === '/' ? '' : '?path=' + encodeURIComponent(p)));
    loadCoord();
  }

  async function save(n, data) {
    if (!await confirmDanger('Change ' + path + '?', 'The node\'s data is replaced; the schedulers read it as it is. This is recorded in the events.', 'Save')) return;
    try {
      const body = { data: data === '' ? null : data, version: n.version !== undefined ? n.version : -1 };
      await api('PUT', '/coord' + qs({ path }), body);
      notice('Saved ' + path + '.');
    } catch (e) {
      notice(errorText(e), 'error');
    }
    loadCoord();
  }

  async function del(n) {
    if (!await confirmDanger('Delete ' + path + '?', 'Only delete a node left behind by something that is gone. This is recorded in the events.')) return;
    try {
      await api('DELETE', '/coord' + qs({ path, version: n.version }));
      notice('Deleted ' + path + '.');
      const up = path.split('/').slice(0, -1).join('/') || '/';
      go(up);
    } catch (e) {
      notice(errorText(e), 'error');
    }
  }

  await Promise.all([loadCluster(), loadCoord()]);
  const timer = setInterval(loadCluster, 5000);
  return () => clearInterval(timer);
}
