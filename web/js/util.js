// SPDX-License-Identifier: MIT
// Helpers shared by the console's pages: the API client (cookie session +
// CSRF header), DOM building without innerHTML (every value from the server
// goes in as text), formatting of times and durations, dialogs and notices.

export const session = { user: null, role: null, csrf: null };
const ROLES = ['viewer', 'operator', 'admin'];

/* True when the logged-in user has at least `role`. */
export function can(role) {
  return ROLES.indexOf(session.role) >= ROLES.indexOf(role);
}

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

/*
 * Calls the API: `path` is under /api/v1. Resolves to the parsed JSON (or
 * the text for text/plain, or null for 204); rejects with an ApiError. A 401
 * sends the user back to the login page.
 */
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  Object.assign(headers, opts.headers || {});
  let r;
  try {
    r = await fetch('/api/v1' + path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'network', 'cannot reach the server: ' + e.message, null);
  }
  if (opts.raw) return r;
  if (r.status === 204) return null;
  const ct = r.headers.get('Content-Type') || '';
  const data = ct.startsWith('application/json') ? await r.json().catch(() => null) : await r.text();
  if (!r.ok) {
    const err = data && data.error ? data.error : { code: 'http_' + r.status, message: r.status + ' ' + r.statusText };
    if (r.status === 401 && !opts.noRedirect) onUnauthorized();
    throw new ApiError(r.status, err.code, err.message, err.field || null);
  }
  return data;
}

/* Builds a query string from an object, skipping empty values. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  }
  const s = u.toString();
  return s ? '?' + s : '';
}

/*
 * h('div', {class: 'x', onclick: fn}, 'text', child...): an element whose
 * children are text nodes or elements; never parses HTML.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/* Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/* SVG element (charts). */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

/* ---- formatting ---- */

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/* An ISO time as wall time in IANA zone `tz` ("2026-11-21 02:30:00"). */
export function fmtTimeIn(iso, tz) {
  try {
    return new Intl.DateTimeFormat('sv-SE', {
      timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    }).format(new Date(iso));
  } catch {
    return fmtTime(iso);
  }
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return ms + ' ms';
  const s = ms / 1000;
  if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
  const m = Math.floor(s / 60), r = Math.round(s % 60);
  if (m < 60) return `${m} min ${r} s`;
  const hh = Math.floor(m / 60);
  return `${hh} h ${m % 60} min`;
}

/* "3 s ago", "in 5 min" for an ISO time. */
export function fmtAgo(iso, now = Date.now()) {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (isNaN(t)) return iso;
  const d = t - now, a = Math.abs(d);
  let s;
  if (a < 1000) return 'now';
  if (a < 60000) s = Math.round(a / 1000) + ' s';
  else if (a < 3600000) s = Math.round(a / 60000) + ' min';
  else if (a < 86400000) s = Math.round(a / 3600000) + ' h';
  else s = Math.round(a / 86400000) + ' d';
  return d < 0 ? s + ' ago' : 'in ' + s;
}

/* A coloured badge for a run/shard state or a level. */
export function badge(state) {
  return h('span', { class: 'badge b-' + String(state || 'none').replace(/[^a-z_]/g, '') }, state || '—');
}

export const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost']);

/* ---- notices and dialogs ---- */

export function notice(msg, kind = 'ok') {
  const box = document.getElementById('notices');
  if (!box) return;
  const el = h('div', { class: 'notice ' + kind, role: kind === 'error' ? 'alert' : 'status' }, msg);
  box.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

export function errorText(e) {
  if (e instanceof ApiError) return e.message + (e.field ? ` (${e.field})` : '');
  return String(e && e.message ? e.message : e);
}

/*
 * A modal dialog: resolves to the value of the button pressed (or null when
 * dismissed). `body` is an element or text; buttons: [{label, value, kind}].
 */
export function dialog(title, body, buttons) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog', 'aria-label': title },
      h('h2', {}, title),
      h('div', { class: 'dialog-body' }, body),
      h('div', { class: 'actions' }, buttons.map((b) =>
        h('button', {
          type: 'button', class: b.kind || '', 'data-value': String(b.value),
          onclick: () => { dlg.close(); dlg.remove(); resolve(b.value); },
        }, b.label))));
    dlg.addEventListener('cancel', () => { dlg.remove(); resolve(null); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/* Asks to confirm a destructive action; resolves true or false. */
export async function confirmDanger(title, text, label = 'Delete') {
  const v = await dialog(title, text, [
    { label: 'Cancel', value: false },
    { label, value: true, kind: 'danger' },
  ]);
  return v === true;
}

/* Calls fn after `ms` without further calls (typing). */
export function debounce(fn, ms) {
  let t = null;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

/* A "not available" box for an endpoint this server does not have yet. */
export function unavailable(what, e) {
  return h('div', { class: 'unavailable', role: 'status' },
    h('strong', {}, what + ' not available'),
    h('p', {}, e && e.status === 404 || e && e.status === 501
      ? 'This server does not provide it (yet): ' + errorText(e)
      : 'Could not load it: ' + errorText(e)));
}

/* Labels object -> "k=v, k=v". */
export function fmtLabels(labels) {
  if (!labels) return '';
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(', ');
}

/* A keyset pager: keeps the cursors of the pages seen, so Previous works. */
export class Pager {
  constructor() { this.stack = [null]; this.next = null; }
  get cursor() { return this.stack[this.stack.length - 1]; }
  reset() { this.stack = [null]; this.next = null; }
  forward() { if (this.next !== null) this.stack.push(this.next); }
  back() { if (this.stack.length > 1) this.stack.pop(); }
  get page() { return this.stack.length; }
  controls(reload) {
    return h('div', { class: 'pager' },
      h('button', { type: 'button', disabled: this.stack.length <= 1, onclick: () => { this.back(); reload(); } }, '‹ Previous'),
      h('span', { class: 'muted' }, 'page ' + this.page),
      h('button', { type: 'button', disabled: this.next === null || this.next === undefined, onclick: () => { this.forward(); reload(); } }, 'Next ›'));
  }
}
