// SPDX-License-Identifier: MIT
// Page-load timing of the console with many jobs (docs/console.md
// "Performance"): starts a server, creates N jobs through the API (skipped
// when the data directory has them already), then times in headless chromium
// the dashboard and the jobs page (first load, search, next page), and the
// API calls behind them. Prints one line per figure and a JSON summary.
//
//   node measure.mjs <clover binary> [--jobs 100000] [--data DIR] [--runs 5]
import { startServer, apiCall, launch } from './lib.mjs';
import { existsSync, mkdirSync } from 'node:fs';

const argv = process.argv.slice(2);
const bin = argv[0];
const opt = (name, def) => { const i = argv.indexOf('--' + name); return i > 0 ? argv[i + 1] : def; };
const N = Number(opt('jobs', '100000'));
const RUNS = Number(opt('runs', '5'));
const dataDir = opt('data', undefined);
if (!bin) { console.error('usage: node measure.mjs <clover> [--jobs N] [--data DIR] [--runs R]'); process.exit(2); }
if (dataDir && !existsSync(dataDir)) mkdirSync(dataDir, { recursive: true });

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const srv = await startServer(bin, { dataDir });
const out = {};
try {
  let have = (await apiCall(srv, 'GET', '/stats')).json;
  let count = have && typeof have.jobs === 'number' ? have.jobs : 0;
  if (count < N) {
    const t0 = Date.now();
    let next = count;
    const worker = async () => {
      while (next < N) {
        const i = next++;
        const name = 'load-' + String(i).padStart(6, '0');
        const r = await apiCall(srv, 'PUT', '/jobs/' + name, {
          name, schedule: `0 ${i % 60} ${i % 24} * * ?`, timezone: 'UTC', run: { shell: 'true' },
        });
        if (r.status !== 201 && r.status !== 200) throw new Error(`${name}: ${r.status} ${r.text}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const s = (Date.now() - t0) / 1000;
    console.log(`created ${N - count} jobs through the API in ${s.toFixed(1)} s (${Math.round((N - count) / s)}/s)`);
  }
  have = (await apiCall(srv, 'GET', '/stats')).json;
  console.log(`jobs in the store: ${have ? have.jobs : '(no /stats)'}`);

  // The API calls behind the pages.
  for (const [label, path] of [['GET /stats', '/stats'], ['GET /jobs?limit=50', '/jobs?limit=50'],
    ['GET /jobs?search=load-0999&limit=50', '/jobs?search=load-0999&limit=50'],
    ['GET /jobs?paused=true&limit=50', '/jobs?paused=true&limit=50'], ['GET /runs?limit=20', '/runs?limit=20']]) {
    const t = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const r = await apiCall(srv, 'GET', path);
      t.push(performance.now() - t0);
      if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
    }
    out[label] = Math.round(median(t));
    console.log(`${label}: median ${out[label]} ms over ${RUNS}`);
  }

  const browser = await launch();
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(60000);
  await page.goto(srv.base + '/');
  await page.fill('#login-user', 'admin');
  await page.fill('#login-password', srv.password);
  await page.click('form.login button[type=submit]');
  await page.locator('#who').waitFor();
  const timed = async (label, fn) => {
    const t = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await fn(i);
      t.push(performance.now() - t0);
    }
    out[label] = Math.round(median(t));
    console.log(`${label}: median ${out[label]} ms over ${RUNS} (min ${Math.round(Math.min(...t))}, max ${Math.round(Math.max(...t))})`);
  };
  // A full load each time: from about:blank, so the browser fetches the page
  // and revalidates its modules (ETag, 304) as a returning user's would.
  await timed('dashboard: full page load to counts and charts drawn', async () => {
    await page.goto('about:blank');
    await page.goto(srv.base + '/#/', { waitUntil: 'commit' });
    await page.locator('#counts .count .n').first().waitFor();
    await page.locator('#chart-lateness svg').waitFor();
  });
  await timed('jobs: full page load to the first 50 rows', async () => {
    await page.goto('about:blank');
    await page.goto(srv.base + '/#/jobs', { waitUntil: 'commit' });
    await page.locator('#jobs-table tbody tr >> nth=49').waitFor();
  });
  await timed('jobs: next page (keyset)', async () => {
    const first = await page.locator('#jobs-table tbody tr').first().getAttribute('data-job');
    await page.locator('.pager button:has-text("Next")').click();
    // (waitForFunction evaluates a string, which the console's CSP forbids: poll.)
    for (;;) {
      const now = await page.locator('#jobs-table tbody tr').first().getAttribute('data-job');
      if (now !== first && await page.locator('#jobs-table tbody tr >> nth=49').count()) break;
      await page.waitForTimeout(5);
    }
  });
  await timed('jobs: search by name to results (includes the 250 ms typing debounce)', async (i) => {
    const q = 'load-0' + String(1000 + i * 7);
    await page.fill('#jobs-search', q);
    await page.locator(`#jobs-table tbody tr[data-job^="${q}"]`).first().waitFor();
  });
  // First visit: a new browser context, nothing cached (the session cookie
  // and the console's session hint copied over).
  const c2 = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await c2.addCookies(await ctx.cookies());
  const p2 = await c2.newPage();
  await p2.goto(srv.base + '/ui/favicon.svg');
  await p2.evaluate(() => localStorage.setItem('clover.session', '1'));
  const t0 = performance.now();
  await p2.goto(srv.base + '/#/', { waitUntil: 'commit' });
  await p2.locator('#counts .count .n').first().waitFor();
  await p2.locator('#chart-lateness svg').waitFor();
  out['dashboard: first visit, empty cache'] = Math.round(performance.now() - t0);
  console.log(`dashboard: first visit, empty cache: ${out['dashboard: first visit, empty cache']} ms`);
  await c2.close();
  await page.goto('about:blank');
  await page.goto(srv.base + '/#/');
  await page.locator('#counts .count .n').first().waitFor();
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return { domContentLoaded: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd), transferBytes: n.transferSize };
  });
  out.navigation = nav;
  console.log('navigation timing of the last dashboard load:', JSON.stringify(nav));
  await page.screenshot({ path: (process.env.CLOVER_ARTIFACTS || '.') + '/dashboard-100k.png', fullPage: true });
  await page.goto(srv.base + '/#/jobs');
  await page.locator('#jobs-table tbody tr >> nth=49').waitFor();
  await page.screenshot({ path: (process.env.CLOVER_ARTIFACTS || '.') + '/jobs-100k.png', fullPage: true });
  await browser.close();
  console.log('RESULT ' + JSON.stringify({ jobs: have ? have.jobs : null, ms: out }));
} finally {
  await srv.stop(!!dataDir);
}
