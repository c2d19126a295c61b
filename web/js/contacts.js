// SPDX-License-Identifier: MIT
// Contacts: who is told when jobs fail (name, e-mail, webhook URL, global
// on-call). Jobs name their contacts in their spec (edit the job to assign).
import { api, h, mount, qs, can, notice, errorText, confirmDanger, debounce, Pager, unavailable } from './util.js';

export async function contactsPage(main) {
  const pager = new Pager();
  let search = '';
  const tbody = h('tbody');
  const status = h('p', { class: 'muted' });
  const pagerBox = h('div');
  const formBox = h('div');

  let seq = 0;
  async function load() {
    const mine = ++seq; // only the latest answer is shown
    let r;
    try {
      r = await api('GET', '/contacts' + qs({ search, after: pager.cursor, limit: 50 }));
    } catch (e) {
      if (mine !== seq) return;
      mount(tbody);
      mount(status, unavailable('Contacts', e));
      return;
    }
    if (mine !== seq) return;
    pager.next = r.next;
    mount(tbody, r.contacts.map((c) => h('tr', { 'data-contact': c.name },
      h('td', {}, c.name),
      h('td', {}, c.email || '—'),
      h('td', { class: 'hide-narrow mono' }, c.webhook || '—'),
      h('td', {}, c.oncall ? h('span', { class: 'badge b-oncall' }, 'on call') : ''),
      h('td', { class: 'actions' },
        h('a', { class: 'button small', href: '#/jobs?contact=' + encodeURIComponent(c.name) }, 'Jobs'),
        can('operator') ? [
        h('button', { type: 'button', class: 'small', onclick: () => showForm(c) }, 'Edit'),
        h('button', { type: 'button', class: 'small danger', onclick: () => del(c.name) }, 'Delete'),
      ] : null))));
    status.textContent = r.contacts.length ? '' : 'No contacts yet.';
    mount(pagerBox, pager.controls(load));
  }

  async function del(name) {
    if (!await confirmDanger('Delete contact ' + name + '?', 'Jobs that name it will no longer tell anyone through it.')) return;
    try {
      await api('DELETE', '/contacts/' + encodeURIComponent(name));
      notice('Contact ' + name + ' deleted.');
    } catch (e) {
      notice(errorText(e), 'error');
    }
    load();
  }

  function showForm(c) {
    const editing = !!c;
    const name = h('input', { id: 'c-name', value: c ? c.name : '', readonly: editing, required: true, autocomplete: 'off' });
    const email = h('input', { id: 'c-email', type: 'email', value: c && c.email ? c.email : '', autocomplete: 'off' });
    const hook = h('input', { id: 'c-webhook', type: 'url', value: c && c.webhook ? c.webhook : '', placeholder: 'https://…', autocomplete: 'off' });
    const oncall = h('input', { id: 'c-oncall', type: 'checkbox', checked: c ? c.oncall : false });
    const err = h('p', { class: 'error', role: 'alert', id: 'c-error' });
    const check = () => {
      const n = name.value.trim();
      if (!/^[A-Za-z0-9._-]{1,128}$/.test(n)) return 'The name: 1 to 128 letters, digits, ".", "_" or "-".';
      if (!email.value.trim() && !hook.value.trim()) return 'Give an e-mail address, a webhook URL, or both.';
      if (email.value.trim() && !/^[^@\s]+@[^@\s]+$/.test(email.value.trim())) return 'The e-mail address does not look right.';
      if (hook.value.trim() && !/^https?:\/\/\S+$/.test(hook.value.trim())) return 'The webhook must start with http:// or https://.';
      return '';
    };
    const form = h('form', { class: 'card form', id: 'contact-form', novalidate: true,
      oninput: () => { err.textContent = check(); },
      onsubmit: async (ev) => {
        ev.preventDefault();
        const msg = check();
        if (msg) { err.textContent = msg; return; }
        const body = { name: name.value.trim(), email: email.value.trim() || null, webhook: hook.value.trim() || null, oncall: oncall.checked };
        try {
          if (editing) await api('PUT', '/contacts/' + encodeURIComponent(c.name), body);
          else await api('POST', '/contacts', body);
          notice('Contact ' + body.name + ' saved.');
          mount(formBox);
          load();
        } catch (e) {
          err.textContent = errorText(e);
        }
      } },
    h('h2', {}, editing ? 'Edit ' + c.name : 'New contact'),
    h('div', { class: 'row2' },
      h('div', { class: 'field' }, h('label', { for: 'c-name' }, 'Name'), name),
      h('div', { class: 'field' }, h('label', { for: 'c-email' }, 'E-mail'), email)),
    h('div', { class: 'field' }, h('label', { for: 'c-webhook' }, 'Webhook URL'), hook),
    h('label', { class: 'check' }, oncall, ' On call (told about every failure, whatever the job)'),
    err,
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => mount(formBox) }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary', id: 'c-save' }, 'Save')));
    mount(formBox, form);
    (editing ? email : name).focus();
  }

  mount(main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Contacts'),
      can('operator') ? h('button', { type: 'button', class: 'primary', id: 'new-contact', onclick: () => showForm(null) }, 'New contact') : null),
    formBox,
    h('div', { class: 'filters' }, h('input', { type: 'search', placeholder: 'Search by name', 'aria-label': 'Search contacts',
      oninput: debounce((ev) => { search = ev.target.value.trim(); pager.reset(); load(); }, 250) })),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'contacts-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'E-mail'), h('th', { class: 'hide-narrow' }, 'Webhook'), h('th', {}, ''), h('th', {}, ''))),
      tbody)),
    status, pagerBox,
    h('p', { class: 'muted small' }, 'To tell a contact about a job, name it in the job\'s Contacts field (Jobs → Edit).'));
  await load();
  return null;
}
