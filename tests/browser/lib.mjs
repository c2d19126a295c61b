// SPDX-License-Identifier: MIT
// Shared by the browser tests and the page-load measurement: start a real
// `clover server` on a private data directory and a free port, and launch
// Debian's headless chromium through playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CLOVER_CHROMIUM || '/usr/bin/chromium';

/* Starts the server; resolves to {base, token, password, dir, log(), stop()}. */
export async function startServer(bin, { args = [], dataDir } = {}) {
  const dir = dataDir || mkdtempSync(join(tmpdir(), 'clover-browser-'));
  const child = spawn(bin, ['server', '--data', dir, '--listen', '127.0.0.1:0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start in 20 s:\n' + out)), 20000);
    let found = false;
    const onData = (d) => {
      out += d.toString();
      if (out.length > 4 << 20) out = out.slice(-(1 << 20)); // keep the tail
      const m = !found && out.match(/listening on \S+ \(port (\d+)/);
      if (m) { found = true; clearTimeout(timer); resolve(Number(m[1])); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the server exited (${code}):\n${out}`)); });
  });
  const base = `http://127.0.0.1:${port}`;
  const token = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
  const password = readFileSync(join(dir, 'admin.password'), 'utf8').trim();
  return {
    base, token, password, dir, child,
    log: () => out,
    /*
     * SIGTERM, then resolves to {code, signal} of the exit (SIGKILL after
     * 30 s). A sanitizer build that found something exits non-zero.
     */
    stop: async (keep = false) => {
      if (child.exitCode === null && child.signalCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([done, new Promise((r) => setTimeout(r, 30000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      if (!keep && !dataDir) rmSync(dir, { recursive: true, force: true });
      return { code: child.exitCode, signal: child.signalCode };
    },
  };
}

/* Calls the API with the admin's bearer token. */
export async function apiCall(srv, method, path, body) {
  const r = await fetch(srv.base + '/api/v1' + path, {
    method,
    headers: { Authorization: 'Bearer ' + srv.token, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // The sandbox needs user namespaces, which containers and root often lack.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

export function artifactsDir(def) {
  const dir = process.env.CLOVER_ARTIFACTS || def;
  mkdirSync(dir, { recursive: true });
  return dir;
}

/* A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

/*
 * Starts the project's SMTP sink (tests/support/smtp_sink.py on Debian's
 * python3-aiosmtpd) on a free port; each message lands in `dir` as
 * NNNNNN.eml + NNNNNN.json. Resolves to {port, dir, messages(), stop()}.
 */
export async function startSmtpSink(dir) {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const support = new URL('../support/', import.meta.url).pathname;
  const child = spawn('/usr/bin/python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'smtp_sink.Sink', dir],
    { env: { ...process.env, PYTHONPATH: support }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const deadline = Date.now() + 10000;
  for (;;) {
    const up = await new Promise((r) => {
      const c = connect(port, '127.0.0.1', () => { c.destroy(); r(true); });
      c.on('error', () => r(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('the SMTP sink did not start:\n' + out);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port, dir,
    /* The messages received so far, as {envelope, data} (complete ones only). */
    messages: () => readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => ({
      envelope: JSON.parse(readFileSync(join(dir, f), 'utf8')),
      data: readFileSync(join(dir, f.replace(/\.json$/, '.eml')), 'utf8'),
    })),
    stop: () => { if (child.exitCode === null) child.kill('SIGKILL'); },
  };
}

/* Writes an INI configuration file; returns its path. */
export function writeConfig(path, lines) {
  writeFileSync(path, '[server]\n' + lines.join('\n') + '\n');
  return path;
}
