// SPDX-License-Identifier: MIT
// Browser test of the console (CTest label `browser`): a real `clover server`
// on a private data directory, driven through headless chromium. It logs in,
// creates a job with the form (validation and cron preview included), sees
// its runs appear, opens a run and its log, follows a live log and kills the
// run, pauses and resumes, triggers with params, adds a contact, sees a
// failing job's alert arrive at a real SMTP server on loopback
// (tests/support/smtp_sink.py), views the cluster, logs, users and the phone
// layout, and logs out. Every page is
// saved as a screenshot under the artifacts directory (paths printed).
// A page that breaks (a missing element, a script error, a CSP violation)
// fails the test.
//
//   node console.test.mjs <path to clover> [artifacts dir]
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startServer, apiCall, launch, artifactsDir, startSmtpSink, writeConfig } from './lib.mjs';

const bin = process.argv[2] || process.env.CLOVER_BIN;
if (!bin) {
  console.error('usage: node console.test.mjs <clover binary> [artifacts dir]');
  process.exit(2);
}
const shots = artifactsDir(process.argv[3] || resolve('test-artifacts/console'));
rmSync(join(shots, 'failure.png'), { force: true }); // from an earlier failed run
const T = 15000; // ms to wait for something to show

// A real SMTP server on loopback receives the alerts (tests/support/smtp_sink.py).
const work = mkdtempSync(join(tmpdir(), 'clover-browser-work-'));
const smtp = await startSmtpSink(join(work, 'mail'));
const cfg = writeConfig(join(work, 'clover.ini'), [
  `smtp_url = smtp://127.0.0.1:${smtp.port}`,
  'smtp_from = Clover <clover@example.com>',
  'smtp_starttls = none',
  'alert_group_window = 1s',
  'alert_rate_limit = 100',
  'alert_retry_backoff = 100ms',
]);
const srv = await startServer(bin, { args: ['--config', cfg] });
const browser = await launch();
const problems = [];
let step = 'start';
let page;

async function shot(name) {
  const p = join(shots, name + '.png');
  await page.screenshot({ path: p, fullPage: true });
  console.log('screenshot: ' + p);
}

async function go(hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
}

/* Runs one named step; the name is printed, and reported if it fails. */
async function check(name, fn) {
  step = name;
  const t0 = Date.now();
  await fn();
  console.log(`ok - ${name} (${Date.now() - t0} ms)`);
}

try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await ctx.newPage();
  page.setDefaultTimeout(T);
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push('console error: ' + m.text());
  });

  await check('the console is served with its CSP and the login page shows', async () => {
    const resp = await page.goto(srv.base + '/');
    assert.equal(resp.status(), 200);
    assert.match(resp.headers()['content-security-policy'], /default-src 'self'/);
    await page.locator('form.login').waitFor();
    await shot('login');
  });

  await check('a wrong password is refused', async () => {
    await page.fill('#login-user', 'admin');
    await page.fill('#login-password', 'not-the-password');
    await page.click('form.login button[type=submit]');
    await page.locator('#login-error', { hasText: 'Wrong user name or password' }).waitFor();
  });

  await check('login leads to the dashboard with its counts and charts', async () => {
    await page.fill('#login-password', srv.password);
    await page.click('form.login button[type=submit]');
    await page.locator('#who', { hasText: 'admin' }).waitFor();
    const cookies = await page.context().cookies();
    const c = cookies.find((x) => x.name === 'clover_session');
    assert.ok(c, 'a session cookie');
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, 'Strict');
    await page.locator('h1', { hasText: 'Dashboard' }).waitFor();
    const dash = page.locator('#counts, .unavailable').first();
    await dash.waitFor();
    if (await page.locator('#counts').count()) {
      await page.locator('#counts .count', { hasText: 'jobs' }).first().waitFor();
      await page.locator('#chart-minutes svg').waitFor();
      await page.locator('#chart-lateness svg').waitFor();
    } else {
      console.log('note: GET /stats is not available on this server; the dashboard says so');
    }
    await shot('dashboard');
  });

  const job = 'console-hello';
  await check('the job form validates as you type and previews the schedule', async () => {
    await page.click('nav a[href="#/jobs"]');
    await page.locator('h1', { hasText: 'Jobs' }).waitFor();
    await page.click('#new-job');
    await page.locator('#job-form').waitFor();
    await page.fill('#f-name', 'bad name!');
    await page.locator('#err-name', { hasText: 'letters' }).waitFor();
    await page.fill('#f-name', job);
    await page.fill('#f-schedule', '61 * * * *');
    await page.locator('#err-schedule', { hasText: 'minute' }).waitFor();
    await page.fill('#f-schedule', '*/2 * * * * ?');
    await page.fill('#f-timezone', 'Europe/Paris');
    await page.locator('#cron-desc').waitFor();
    assert.equal(await page.locator('#cron-preview ol.fires li').count(), 5);
    await page.locator('#cron-preview li', { hasText: 'Europe/Paris' }).first().waitFor(); // in the job's zone
    assert.equal(await page.locator('#err-schedule').textContent(), '');
    await page.fill('#f-command', 'echo "hello from the console"; echo second line');
    await shot('job-form');
  });

  await check('creating the job shows it, and its runs appear', async () => {
    await page.click('#job-save');
    await page.locator('h1', { hasText: job }).waitFor();
    await page.locator('#runs-table tbody tr[data-run]').first().waitFor({ timeout: 20000 });
    await page.locator('#runs-table .badge.b-succeeded').first().waitFor({ timeout: 20000 });
    await shot('job');
  });

  await check("a run's page shows its shards and its log", async () => {
    await page.locator('#runs-table tr:has(.b-succeeded) a[href^="#/runs/"]').first().click();
    await page.locator('#run-log', { hasText: 'hello from the console' }).waitFor();
    await page.locator('#shards-table .badge.b-succeeded').waitFor();
    await page.locator('#run-job', { hasText: job }).waitFor();
    await shot('run');
  });

  await check('pause and resume from the job page', async () => {
    await go('#/jobs/' + job);
    await page.locator('#job-pause', { hasText: 'Pause' }).click();
    await page.locator('h1 .badge.b-paused').waitFor();
    let r = await apiCall(srv, 'GET', '/jobs/' + job);
    assert.equal(r.json.status.paused, true);
    await page.locator('#job-pause', { hasText: 'Resume' }).click();
    await page.locator('h1 .badge.b-active').waitFor();
    r = await apiCall(srv, 'GET', '/jobs/' + job);
    assert.equal(r.json.status.paused, false);
    // Stop it firing every 2 s for the rest of the test.
    await page.locator('#job-pause', { hasText: 'Pause' }).click();
    await page.locator('h1 .badge.b-paused').waitFor();
  });

  await check('trigger now with params starts a run that gets them', async () => {
    await page.click('#job-trigger');
    await page.fill('#trigger-params', 'from-the-browser');
    await page.click('dialog button[data-value="true"]');
    const link = page.locator('.notice a[href^="#/runs/"]');
    await link.waitFor();
    const href = await link.getAttribute('href');
    await go(href);
    await page.locator('dd.mono', { hasText: 'from-the-browser' }).waitFor();
  });

  await check('a running run tails its log live and can be killed', async () => {
    let r = await apiCall(srv, 'POST', '/jobs', {
      name: 'console-ticker', schedule: '@manual',
      run: { shell: 'echo started; sleep 1; echo tick; sleep 60' },
    });
    assert.equal(r.status, 201, r.text);
    r = await apiCall(srv, 'POST', '/jobs/console-ticker/trigger', {});
    assert.equal(r.status, 202, r.text);
    await go('#/runs/' + r.json.run_id);
    await page.locator('#run-state .b-running').waitFor();
    await page.locator('#run-log', { hasText: 'tick' }).waitFor();
    assert.equal(await page.locator('#log-state').textContent(), '(live)');
    await shot('run-live');
    await page.click('#run-kill');
    await page.click('dialog button[data-value="true"]');
    await page.locator('#run-state .b-cancelled').waitFor();
  });

  await check('the jobs table searches by name and filters paused', async () => {
    await go('#/jobs');
    await page.locator('#jobs-table tbody tr').first().waitFor();
    await page.fill('#jobs-search', 'hello');
    await page.locator(`#jobs-table tr[data-job="${job}"]`).waitFor();
    await page.locator('#jobs-table tr[data-job="console-ticker"]').waitFor({ state: 'detached' });
    await page.selectOption('#jobs-paused', 'false');
    await page.locator('#jobs-status', { hasText: 'No job matches' }).waitFor();
    await page.selectOption('#jobs-paused', 'true');
    await page.locator(`#jobs-table tr[data-job="${job}"]`).waitFor();
    await shot('jobs');
  });

  await check('editing a job keeps what the form does not show', async () => {
    await go(`#/jobs/${job}/edit`);
    await page.locator('#job-form').waitFor();
    await page.locator('#cron-desc').waitFor();
    await page.fill('#f-description', 'edited in the browser');
    await page.fill('#f-labels', 'clover.local=true');
    await page.click('#job-save');
    await page.locator('main p', { hasText: 'edited in the browser' }).waitFor();
    const r = await apiCall(srv, 'GET', '/jobs/' + job);
    assert.equal(r.json.timezone, 'Europe/Paris');
    assert.equal(r.json.status.paused, true);
    assert.deepEqual(r.json.target.labels, { 'clover.local': 'true' });
    // The jobs table filters by that label.
    await go('#/jobs');
    await page.locator('#jobs-table tr[data-job="console-ticker"]').waitFor();
    await page.fill('#jobs-label', 'clover.local=true');
    await page.locator(`#jobs-table tr[data-job="${job}"]`).waitFor();
    await page.locator('#jobs-table tr[data-job="console-ticker"]').waitFor({ state: 'detached' });
  });

  await check('a contact is added, and the job names it', async () => {
    await go('#/contacts');
    await page.click('#new-contact');
    await page.fill('#c-name', 'ops-team');
    await page.fill('#c-email', 'not-an-address');
    await page.locator('#c-error', { hasText: 'e-mail' }).waitFor();
    await page.fill('#c-email', 'ops@example.com');
    await page.check('#c-oncall');
    await page.click('#c-save');
    await page.locator('#contacts-table tr[data-contact="ops-team"] .b-oncall').waitFor();
    await shot('contacts');
    await go(`#/jobs/${job}/edit`);
    await page.fill('#f-contacts', 'ops-team');
    await page.click('#job-save');
    await page.locator('dd', { hasText: 'ops-team' }).waitFor();
    const r = await apiCall(srv, 'GET', '/jobs/' + job);
    assert.deepEqual(r.json.contacts, ['ops-team']);
    // The contact's Jobs button lists the jobs naming it.
    await go('#/contacts');
    await page.locator('#contacts-table tr[data-contact="ops-team"] a', { hasText: 'Jobs' }).click();
    await page.locator('#jobs-contact', { hasText: 'ops-team' }).waitFor();
    await page.locator(`#jobs-table tr[data-job="${job}"]`).waitFor();
    assert.equal(await page.locator('#jobs-table tbody tr').count(), 1);
  });

  await check('a failing job made in the form alerts its contact by e-mail', async () => {
    await go('#/jobs/new');
    await page.locator('#job-form').waitFor();
    await page.fill('#f-name', 'console-fails');
    await page.fill('#f-schedule', '@manual');
    await page.locator('#cron-desc').waitFor();
    await page.fill('#f-command', 'echo about to fail; exit 3');
    await page.fill('#f-contacts', 'ops-team');
    await page.click('#job-save');
    await page.locator('h1', { hasText: 'console-fails' }).waitFor();
    await page.click('#job-trigger');
    await page.click('dialog button[data-value="true"]');
    const link = page.locator('.notice a[href^="#/runs/"]');
    await link.waitFor();
    await go(await link.getAttribute('href'));
    await page.locator('#run-state .b-failed').waitFor();
    await page.locator('#shards-table td', { hasText: 'exit 3' }).waitFor();
    await page.locator('#run-log', { hasText: 'about to fail' }).waitFor();
    await shot('run-failed');
    let mail = null;
    for (const t0 = Date.now(); !mail && Date.now() - t0 < 20000;) {
      mail = smtp.messages().find((m) => m.data.includes('console-fails'));
      if (!mail) await page.waitForTimeout(200);
    }
    assert.ok(mail, 'an alert e-mail about console-fails reached the SMTP server');
    assert.ok(mail.envelope.rcpt_tos.includes('ops@example.com'), JSON.stringify(mail.envelope));
    console.log('alert e-mail received for ' + mail.envelope.rcpt_tos.join(', '));
  });

  await check('the jobs table shows each job\'s last run and filters by it', async () => {
    // The store folds the jobs' last runs in behind the writes (store fold_ms, 5 s).
    let lr = null;
    for (const t0 = Date.now(); !(lr && lr.state === 'failed');) {
      const r = await apiCall(srv, 'GET', '/jobs/console-fails');
      lr = r.json.status.last_run;
      if (lr && lr.state === 'failed') break;
      assert.ok(Date.now() - t0 < 20000, 'console-fails never showed its failed run: ' + r.text);
      await page.waitForTimeout(200);
    }
    await go('#/jobs');
    const cell = page.locator('#jobs-table tr[data-job="console-fails"] td.last-run a');
    await cell.locator('.b-failed').waitFor();
    assert.equal(await cell.getAttribute('href'), '#/runs/' + lr.id);
    await page.locator('#jobs-table tr[data-job="console-ticker"] td.last-run .b-cancelled').waitFor();
    await page.selectOption('#jobs-last', 'failed');
    await page.locator('#jobs-table tr[data-job="console-ticker"]').waitFor({ state: 'detached' });
    await page.locator('#jobs-table tr[data-job="console-fails"]').waitFor();
    assert.equal(await page.locator('#jobs-table tbody tr').count(),
      await page.locator('#jobs-table td.last-run .b-failed').count());
    await shot('jobs-last-failed');
    await page.selectOption('#jobs-last', 'never');
    await page.locator('#jobs-table tr[data-job="console-fails"]').waitFor({ state: 'detached' });
  });

  await check('the dashboard counts the jobs and charts their runs', async () => {
    await go('#/');
    await page.locator('h1', { hasText: 'Dashboard' }).waitFor();
    if (await page.locator('#counts').count() === 0) {
      await page.locator('.unavailable').waitFor();
      return;
    }
    await page.locator('#counts .count:has-text("jobs") .n', { hasText: '3' }).waitFor();
    await page.locator('#counts .count:has-text("failed 24 h") .n', { hasText: '1' }).waitFor();
    await page.locator('#chart-minutes rect').first().waitFor();
    await page.locator('#latest-failures a', { hasText: 'console-fails' }).waitFor();
    await shot('dashboard-data');
  });

  await check('the cluster page lists the built-in executor and the coordination tree', async () => {
    await go('#/cluster');
    await page.locator('#executors-table tr[data-executor="local"]').waitFor();
    await page.locator('#schedulers-table tbody tr').first().waitFor();
    // Standalone: one scheduler, the leader, epoch 1, the single partition.
    await page.locator('#schedulers-table tbody tr:has(.b-leader) td:nth-child(3)', { hasText: '1' }).waitFor();
    await page.locator('#schedulers-table tbody tr:has(.b-leader) td:nth-child(4)', { hasText: '1' }).waitFor();
    await page.locator('#coord .card, #coord .unavailable').first().waitFor();
    const coord = await apiCall(srv, 'GET', '/coord?path=/');
    if (coord.status !== 200) {
      console.log(`note: GET /coord answers ${coord.status}; the page says it is not available`);
      await page.locator('#coord .unavailable').waitFor();
      await shot('cluster');
      return;
    }
    await page.locator('#coord-path').waitFor();
    await shot('cluster');
    // Browse down to the built-in executor's node: ephemeral, so read-only.
    for (const name of ['clover', 'executors', 'local']) {
      await page.locator('#coord-children a', { hasText: new RegExp('^' + name + '$') }).click();
      await page.locator('#coord-path a', { hasText: name }).waitFor();
    }
    await page.locator('#coord', { hasText: 'Ephemeral' }).waitFor();
    assert.match(await page.inputValue('#coord-data'), /clover.local/);
    assert.equal(await page.locator('#coord-save').count(), 0);
    await shot('cluster-coord-node');
  });

  await check('an admin edits then deletes a stale node of the coordination tree', async () => {
    const path = '/clover/stale-node';
    let r = await apiCall(srv, 'PUT', '/coord?path=' + encodeURIComponent(path), { data: 'old', version: -1, create: true });
    assert.equal(r.status, 200, r.text);
    await go('#/cluster?path=' + encodeURIComponent(path));
    await page.reload();
    await page.locator('#coord-path a', { hasText: 'stale-node' }).waitFor();
    assert.equal(await page.inputValue('#coord-data'), 'old');
    await page.fill('#coord-data', 'edited in the browser');
    await page.click('#coord-save');
    await page.click('dialog button[data-value="true"]');
    await page.locator('.notice', { hasText: 'Saved ' + path }).waitFor();
    r = await apiCall(srv, 'GET', '/coord?path=' + encodeURIComponent(path));
    assert.equal(r.json.data, 'edited in the browser');
    await page.click('#coord-delete');
    await page.click('dialog button[data-value="true"]');
    await page.locator('.notice', { hasText: 'Deleted ' + path }).waitFor();
    r = await apiCall(srv, 'GET', '/coord?path=' + encodeURIComponent(path));
    assert.equal(r.status, 404);
  });

  await check('the logs page shows events, filters them, and lists failed runs', async () => {
    await go('#/logs');
    await page.locator('#events-table tbody tr').first().waitFor();
    await page.fill('#ev-q', 'login');
    await page.locator('#events-table td.msg', { hasText: 'login: user admin' }).first().waitFor();
    await page.fill('#ev-q', '');
    await page.fill('#ev-source', 'notify');
    // Filtered on the server: only the alert deliveries remain.
    for (const t0 = Date.now(); ;) {
      const sources = await page.locator('#events-table tbody td:nth-child(3)').allTextContents();
      if (sources.length && sources.every((x) => x === 'notify')) break;
      assert.ok(Date.now() - t0 < T, 'the source filter applies: ' + sources.join(','));
      await page.waitForTimeout(100);
    }
    await page.locator('#events-table td.msg', { hasText: 'alert delivered by email to ops-team' }).waitFor();
    await shot('logs');
    await page.click('#tab-failed');
    await page.locator('#failed-runs a', { hasText: 'console-fails' }).waitFor();
    await shot('logs-failed-runs');
    await page.selectOption('#runs-state', 'cancelled');
    await page.locator('#failed-runs a', { hasText: 'console-ticker' }).waitFor();
    await page.locator('#failed-runs a', { hasText: 'console-fails' }).waitFor({ state: 'detached' });
  });

  await check('a job is deleted after confirming', async () => {
    await go('#/jobs/console-ticker');
    await page.locator('h1', { hasText: 'console-ticker' }).waitFor();
    await page.click('#job-delete');
    await page.locator('dialog', { hasText: 'Delete job console-ticker?' }).waitFor();
    await page.click('dialog button[data-value="false"]'); // cancel first: nothing happens
    assert.equal((await apiCall(srv, 'GET', '/jobs/console-ticker')).status, 200);
    await page.click('#job-delete');
    await page.click('dialog button[data-value="true"]');
    await page.locator('h1', { hasText: 'Jobs' }).waitFor();
    await page.locator('#jobs-table tr[data-job="console-hello"]').waitFor();
    assert.equal(await page.locator('#jobs-table tr[data-job="console-ticker"]').count(), 0);
    assert.equal((await apiCall(srv, 'GET', '/jobs/console-ticker')).status, 404);
  });

  await check('users and tokens (admin)', async () => {
    await go('#/users');
    await page.locator('#users-table tr[data-user="admin"]').waitFor();
    await page.fill('#u-name', 'browser-viewer');
    await page.selectOption('#u-role', 'viewer');
    await page.fill('#u-password', 'viewer-password-1');
    await page.click('#user-form button[type=submit]');
    await page.locator('#users-table tr[data-user="browser-viewer"]').waitFor();
    await page.fill('#t-name', 'from-browser');
    await page.click('#token-form button[type=submit]');
    await page.locator('#new-token', { hasText: 'clv_' }).waitFor();
    await shot('users');
    await page.click('dialog button[data-value="true"]');
  });

  await check('the layout works at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await go('#/');
    await page.locator('h1', { hasText: 'Dashboard' }).waitFor();
    await page.locator('#counts .count, .unavailable').first().waitFor();
    const dashOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(dashOverflow <= 1, `the dashboard scrolls sideways by ${dashOverflow} px at phone width`);
    await shot('dashboard-phone');
    await go('#/jobs');
    await page.locator('#jobs-table tbody tr').first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the jobs page scrolls sideways by ${overflow} px at phone width`);
    await shot('jobs-phone');
    for (const [hash, sel] of [[`#/jobs/${job}`, '#runs-table'], [`#/jobs/${job}/edit`, '#job-form'], ['#/runs/1', '#shards-table'],
      ['#/cluster', '#executors-table'], ['#/contacts', '#contacts-table'], ['#/logs', '#events-table'], ['#/users', '#users-table']]) {
      await go(hash);
      await page.locator(sel).waitFor();
      await page.waitForTimeout(100);
      const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(over <= 1, `${hash} scrolls sideways by ${over} px at phone width`);
      if (hash === '#/runs/1') await shot('run-phone');
    }
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  await check('a viewer sees no write buttons', async () => {
    const vctx = await browser.newContext();
    const vp = await vctx.newPage();
    vp.setDefaultTimeout(T);
    await vp.goto(srv.base + '/#/jobs');
    await vp.fill('#login-user', 'browser-viewer');
    await vp.fill('#login-password', 'viewer-password-1');
    await vp.click('form.login button[type=submit]');
    await vp.locator('#jobs-table tbody tr').first().waitFor();
    assert.equal(await vp.locator('#new-job').count(), 0);
    assert.equal(await vp.locator('nav a[href="#/users"]').count(), 0);
    // A viewer manages their own tokens.
    await vp.click('nav a[href="#/tokens"]');
    await vp.locator('h1', { hasText: 'My API tokens' }).waitFor();
    assert.equal(await vp.locator('#users-table').count(), 0);
    await vp.fill('#t-name', 'viewer-script');
    await vp.click('#token-form button[type=submit]');
    await vp.locator('#new-token', { hasText: 'clv_' }).waitFor();
    await vp.click('dialog button[data-value="true"]');
    await vp.locator('#tokens-table td', { hasText: 'viewer-script' }).waitFor();
    await vctx.close();
  });

  await check('logout ends the session', async () => {
    await page.click('#logout');
    await page.locator('form.login').waitFor();
    const status = await page.evaluate(async () => (await fetch('/api/v1/whoami')).status);
    assert.equal(status, 401);
  });

  assert.deepEqual(problems, [], 'the pages reported errors');
  console.log('PASS: console browser test');
} catch (e) {
  console.error(`FAIL at step "${step}": ${e.stack || e}`);
  if (problems.length) console.error('page problems:\n  ' + problems.join('\n  '));
  if (page) {
    try { await shot('failure'); } catch { /* the page is gone */ }
  }
  console.error('--- server log (tail) ---\n' + srv.log().split('\n').slice(-40).join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
  smtp.stop();
  const end = await srv.stop();
  rmSync(work, { recursive: true, force: true });
  // A clean stop exits 0; under ASan/UBSan a finding makes it fail.
  if (end.code !== 0) {
    console.error(`FAIL: the server exited with ${end.code ?? end.signal} after SIGTERM`);
    console.error('--- server log (tail) ---\n' + srv.log().split('\n').slice(-60).join('\n'));
    process.exitCode = 1;
  } else if (/ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:/.test(srv.log())) {
    console.error('FAIL: the sanitizers reported errors:\n' + srv.log().split('\n').filter((l) => /Sanitizer|runtime error|^ {4}#/.test(l)).slice(0, 60).join('\n'));
    process.exitCode = 1;
  }
}
