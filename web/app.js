// SPDX-License-Identifier: MIT
// The clover console: login, the layout (navigation, user, logout) and the
// hash router that hands each route to its page module (js/*.js). Every page
// is a client of the REST API under /api/v1 (docs/api.md); the API enforces
// roles, the console only hides what the user's role cannot do.
import { api, h, mount, session, can, setUnauthorizedHandler, errorText, notice } from './js/util.js';
import { dashboardPage } from './js/dashboard.js';
import { jobsPage, jobPage, jobFormPage } from './js/jobs.js';
import { runPage } from './js/run.js';
import { clusterPage } from './js/cluster.js';
import { contactsPage } from './js/contacts.js';
import { logsPage } from './js/logs.js';
import { usersPage } from './js/users.js';

const NAV = [
  ['#/', 'Dashboard', 'viewer'],
  ['#/jobs', 'Jobs', 'viewer'],
  ['#/cluster', 'Cluster', 'viewer'],
  ['#/contacts', 'Contacts', 'viewer'],
  ['#/logs', 'Logs', 'viewer'],
  ['#/users', 'Users', 'admin'],
  ['#/tokens', 'Tokens', 'viewer', 'admin'], // the admins' Users page has them
];

/* Routes: a pattern of hash segments (":x" captures) and its page. */
const ROUTES = [
  [[''], dashboardPage],
  [['jobs'], jobsPage],
  [['jobs', 'new'], jobFormPage],
  [['jobs', ':name'], jobPage],
  [['jobs', ':name', 'edit'], jobFormPage],
  [['runs', ':id'], runPage],
  [['cluster'], clusterPage],
  [['contacts'], contactsPage],
  [['logs'], logsPage],
  [['users'], usersPage],
  [['tokens'], usersPage],
];

const root = document.getElementById('app');
const HINT = 'clover.session'; // set while this browser believes it is logged in
let cleanup = null; // the current page's stop function (timers)

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  const segs = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
  return { segs: segs.length ? segs : [''], query: new URLSearchParams(query || '') };
}

function match(segs) {
  for (const [pat, page] of ROUTES) {
    if (pat.length !== segs.length) continue;
    const params = {};
    let ok = true;
    pat.forEach((p, i) => {
      if (p.startsWith(':')) params[p.slice(1)] = segs[i];
      else if (p !== segs[i]) ok = false;
    });
    if (ok) return { page, params };
  }
  return null;
}

function layout() {
  const here = '#/' + parseHash().segs.filter((s) => s).join('/');
  const nav = h('nav', { class: 'nav', 'aria-label': 'Main' },
    NAV.filter(([, , role, unless]) => can(role) && !(unless && can(unless))).map(([href, label]) => {
      const active = href === '#/' ? here === '#/' : here.startsWith(href);
      return h('a', { href, class: active ? 'active' : '' }, label);
    }));
  const main = h('main', { id: 'main' });
  const header = h('header', { class: 'top' },
    h('a', { href: '#/', class: 'brand' }, h('img', { src: '/ui/favicon.svg', alt: '', width: 22, height: 22 }), 'clover'),
    nav,
    h('div', { class: 'who' },
      h('span', { id: 'who', title: 'signed in' }, session.user, ' ', h('span', { class: 'role' }, session.role)),
      h('button', { type: 'button', id: 'logout', class: 'link', onclick: logout }, 'Log out')));
  mount(root, header, h('div', { id: 'notices', 'aria-live': 'polite' }), main);
  return main;
}

async function route() {
  if (cleanup) { cleanup(); cleanup = null; }
  const { segs, query } = parseHash();
  if (segs[0] === 'login') return loginPage();
  if (!session.user) {
    // Without a session there is nothing to ask: going straight to the login
    // page keeps every visit from being logged as an auth failure. (The
    // cookie itself is HttpOnly: script cannot see whether it exists.)
    if (!localStorage.getItem(HINT)) return loginPage();
    try {
      const me = await api('GET', '/whoami', undefined, { noRedirect: true });
      Object.assign(session, { user: me.user, role: me.role, csrf: me.csrf || null });
    } catch (e) {
      return loginPage(e.status === 401 ? null : errorText(e));
    }
  }
  const main = layout();
  const m = match(segs);
  if (!m) {
    mount(main, h('h1', {}, 'Not found'), h('p', {}, 'No page here. ', h('a', { href: '#/' }, 'Back to the dashboard')));
    return;
  }
  try {
    cleanup = (await m.page(main, m.params, query)) || null;
  } catch (e) {
    mount(main, h('h1', {}, 'Error'), h('p', { class: 'error' }, errorText(e)));
  }
}

function loginPage(message) {
  Object.assign(session, { user: null, role: null, csrf: null });
  localStorage.removeItem(HINT);
  const err = h('p', { class: 'error', role: 'alert', id: 'login-error' }, message || '');
  const user = h('input', { id: 'login-user', name: 'user', autocomplete: 'username', required: true, autofocus: true });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const btn = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = h('form', { class: 'login card', onsubmit: async (ev) => {
    ev.preventDefault();
    btn.disabled = true;
    err.textContent = '';
    try {
      const r = await api('POST', '/login', { user: user.value, password: pass.value }, { noRedirect: true });
      Object.assign(session, { user: r.user, role: r.role, csrf: r.csrf });
      localStorage.setItem(HINT, '1');
      const back = sessionStorage.getItem('clover.back');
      sessionStorage.removeItem('clover.back');
      const target = back && back !== '#/login' ? back : '#/';
      if (location.hash === target) route();
      else location.hash = target;
    } catch (e) {
      err.textContent = e.status === 401 ? 'Wrong user name or password.' : errorText(e);
      pass.select();
    } finally {
      btn.disabled = false;
    }
  } },
  h('h1', {}, h('img', { src: '/ui/favicon.svg', alt: '', width: 28, height: 28 }), ' clover'),
  h('label', { for: 'login-user' }, 'User'), user,
  h('label', { for: 'login-password' }, 'Password'), pass,
  err, btn,
  h('p', { class: 'muted small' }, 'The first admin password is in the data directory: admin.password.'));
  mount(root, h('div', { class: 'login-wrap' }, form));
  if (location.hash !== '#/login') {
    if (location.hash && location.hash !== '#/') sessionStorage.setItem('clover.back', location.hash);
    history.replaceState(null, '', '#/login');
  }
  user.focus();
}

async function logout() {
  try {
    await api('POST', '/logout', undefined, { noRedirect: true });
  } catch (e) {
    notice(errorText(e), 'error');
  }
  Object.assign(session, { user: null, role: null, csrf: null });
  location.hash = '#/login';
}

setUnauthorizedHandler(() => {
  if (session.user) {
    Object.assign(session, { user: null, role: null, csrf: null });
    sessionStorage.setItem('clover.back', location.hash);
    location.hash = '#/login';
  }
});
window.addEventListener('hashchange', route);
route();
