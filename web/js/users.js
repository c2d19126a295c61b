// SPDX-License-Identifier: MIT
// Users and API tokens: admins create and delete users and manage everyone's
// tokens; everyone else manages their own tokens (the secret is shown once).
import { api, h, mount, session, can, fmtTime, notice, errorText, confirmDanger, dialog } from './util.js';

export async function usersPage(main) {
  const users = h('tbody');
  const tokens = h('tbody');
  const uerr = h('p', { class: 'error', role: 'alert' });
  const terr = h('p', { class: 'error', role: 'alert' });

  const admin = can('admin');
  async function load() {
    const [u, t] = await Promise.all([admin ? api('GET', '/users') : { users: [] }, api('GET', '/tokens')]);
    mount(users, u.users.map((x) => h('tr', { 'data-user': x.name },
      h('td', {}, x.name), h('td', {}, x.role), h('td', { class: 'hide-narrow' }, fmtTime(x.created_at)),
      h('td', { class: 'actions' }, x.name !== session.user ? h('button', { type: 'button', class: 'small danger', onclick: () => delUser(x.name) }, 'Delete') : h('span', { class: 'muted' }, 'you')))));
    mount(tokens, t.tokens.map((x) => h('tr', { 'data-token': x.id },
      h('td', { class: 'mono' }, x.id), h('td', {}, x.user), h('td', {}, x.name || ''),
      h('td', { class: 'hide-narrow' }, fmtTime(x.created_at)), h('td', {}, x.last_used_at ? fmtTime(x.last_used_at) : 'never'),
      h('td', { class: 'actions' }, h('button', { type: 'button', class: 'small danger', onclick: () => revoke(x.id) }, 'Revoke')))));
  }

  async function delUser(name) {
    if (!await confirmDanger('Delete user ' + name + '?', 'Their tokens and sessions stop working at once.')) return;
    try { await api('DELETE', '/users/' + encodeURIComponent(name)); notice('User ' + name + ' deleted.'); } catch (e) { notice(errorText(e), 'error'); }
    load();
  }

  async function revoke(id) {
    if (!await confirmDanger('Revoke token ' + id + '?', 'Whatever uses it is refused from now on.', 'Revoke')) return;
    try { await api('DELETE', '/tokens/' + id); notice('Token ' + id + ' revoked.'); } catch (e) { notice(errorText(e), 'error'); }
    load();
  }

  const uname = h('input', { id: 'u-name', placeholder: 'name', 'aria-label': 'User name', autocomplete: 'off' });
  const urole = h('select', { id: 'u-role', 'aria-label': 'Role' }, ['viewer', 'operator', 'admin'].map((r) => h('option', { value: r }, r)));
  const upass = h('input', { id: 'u-password', type: 'password', placeholder: 'password (8+ characters)', 'aria-label': 'Password', autocomplete: 'new-password' });
  const tname = h('input', { id: 't-name', placeholder: 'label', 'aria-label': 'Token label', autocomplete: 'off' });
  const tuser = admin ? h('input', { id: 't-user', placeholder: 'user (default: you)', 'aria-label': 'Token user', autocomplete: 'off' }) : null;

  const userSection = admin ? [
    h('h2', {}, 'Users'),
    h('form', { class: 'filters', id: 'user-form', onsubmit: async (ev) => {
      ev.preventDefault();
      uerr.textContent = '';
      if (upass.value.length < 8) { uerr.textContent = 'The password needs at least 8 characters.'; return; }
      try {
        await api('POST', '/users', { name: uname.value.trim(), role: urole.value, password: upass.value });
        notice('User ' + uname.value + ' created.');
        uname.value = ''; upass.value = '';
        load();
      } catch (e) { uerr.textContent = errorText(e); }
    } }, uname, urole, upass, h('button', { type: 'submit', class: 'primary' }, 'Add user')),
    uerr,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'users-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Role'), h('th', { class: 'hide-narrow' }, 'Created'), h('th', {}, ''))), users)),
  ] : null;
  mount(main, h('h1', {}, admin ? 'Users and tokens' : 'My API tokens'),
    userSection,
    h('h2', {}, admin ? 'API tokens' : 'Tokens for scripts and the CLI'),
    h('form', { class: 'filters', id: 'token-form', onsubmit: async (ev) => {
      ev.preventDefault();
      terr.textContent = '';
      const body = { name: tname.value.trim() };
      if (tuser && tuser.value.trim()) body.user = tuser.value.trim();
      try {
        const t = await api('POST', '/tokens', body);
        tname.value = '';
        load();
        await dialog('Token created', h('div', {},
          h('p', {}, 'Copy it now: it is shown only once.'),
          h('pre', { class: 'code secret', id: 'new-token' }, t.token)), [{ label: 'Done', value: true, kind: 'primary' }]);
      } catch (e) { terr.textContent = errorText(e); }
    } }, tname, tuser, h('button', { type: 'submit', class: 'primary' }, 'Create token')),
    terr,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'tokens-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Id'), h('th', {}, 'User'), h('th', {}, 'Label'), h('th', { class: 'hide-narrow' }, 'Created'), h('th', {}, 'Last used'), h('th', {}, ''))), tokens)));
  await load();
  return null;
}
