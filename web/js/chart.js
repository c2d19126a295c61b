// SPDX-License-Identifier: MIT
// Small SVG charts drawn by hand (no library, no network): stacked bars of
// run outcomes over time and lines of lateness percentiles. They scale with
// their container (viewBox) and every bar/point has a <title> tooltip.
import { h, svg } from './util.js';

export const OUTCOMES = [
  ['succeeded', '#2e9d5b'],
  ['failed', '#d64545'],
  ['timed_out', '#e0a020'],
  ['skipped', '#9aa5b1'],
  ['lost', '#7b4fc9'],
  ['cancelled', '#5b6b7b'],
];

const W = 600, H = 180, L = 44, R = 8, T = 10, B = 22;

function niceMax(v, min = 4) {
  if (v <= min) return min;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function axes(max, fmtY, labels) {
  const g = svg('g', { class: 'axes' });
  for (let i = 0; i <= 4; i++) {
    const y = T + (H - T - B) * (1 - i / 4);
    g.append(svg('line', { x1: L, x2: W - R, y1: y, y2: y, class: 'grid' }),
      svg('text', { x: L - 4, y: y + 3, 'text-anchor': 'end' }, fmtY(max * i / 4)));
  }
  for (const [x, text] of labels) g.append(svg('text', { x, y: H - 6, 'text-anchor': 'middle' }, text));
  return g;
}

function legend(items) {
  return h('div', { class: 'legend' }, items.map(([name, color]) =>
    h('span', {}, h('i', { class: 'swatch', 'data-color': color }), name.replace('_', ' '))));
}

/* Colours legend swatches through the CSSOM (the CSP forbids inline styles). */
function paint(root) {
  root.querySelectorAll('.swatch').forEach((el) => { el.style.background = el.dataset.color; });
  return root;
}

function hhmm(iso) {
  const d = new Date(iso);
  return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
}

/* Stacked bars: `rows` = [{t, succeeded, failed, ...}], oldest first. */
export function stackedBars(rows, { title, id }) {
  const n = rows.length || 1;
  const totals = rows.map((r) => OUTCOMES.reduce((s, [k]) => s + (r[k] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const bw = (W - L - R) / n;
  const plot = H - T - B;
  const every = Math.max(1, Math.ceil(n / 6));
  const labels = [];
  const bars = svg('g', {});
  rows.forEach((r, i) => {
    let y = H - B;
    const x = L + i * bw;
    for (const [k, color] of OUTCOMES) {
      const v = r[k] || 0;
      if (!v) continue;
      const bh = (v / max) * plot;
      y -= bh;
      bars.append(svg('rect', { x: x + 0.5, y, width: Math.max(1, bw - 1), height: bh, fill: color },
        svg('title', {}, `${hhmm(r.t)} ${k.replace('_', ' ')}: ${v}`)));
    }
    if (i % every === 0) labels.push([x + bw / 2, hhmm(r.t)]);
  });
  const total = totals.reduce((a, b) => a + b, 0);
  return paint(h('figure', { class: 'chart', id },
    h('figcaption', {}, title, h('span', { class: 'muted' }, ` — ${total} runs`)),
    svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, },
      axes(max, (v) => String(Math.round(v)), labels), bars),
    legend(OUTCOMES)));
}

function fmtMs(v) {
  if (v >= 60000) return (v / 60000).toFixed(v >= 600000 ? 0 : 1) + 'm';
  if (v >= 1000) return (v / 1000).toFixed(v >= 10000 ? 0 : 1) + 's';
  return Math.round(v) + 'ms';
}

/* Lines of p50/p90/p99 lateness per hour: `rows` = [{t, n, p50, p90, p99}]. */
export function latenessLines(rows, { title, id }) {
  const series = [['p50', '#2e9d5b'], ['p90', '#e0a020'], ['p99', '#d64545']];
  const n = rows.length || 1;
  const max = niceMax(Math.max(0, ...rows.flatMap((r) => (r.n ? [r.p50, r.p90, r.p99] : []))));
  const step = (W - L - R) / Math.max(1, n - 1);
  const plot = H - T - B;
  const every = Math.max(1, Math.ceil(n / 6));
  const labels = [];
  const g = svg('g', {});
  for (const [k, color] of series) {
    const pts = [];
    rows.forEach((r, i) => {
      if (!r.n) return;
      const x = L + i * step, y = H - B - (r[k] / max) * plot;
      pts.push(`${x.toFixed(1)},${y.toFixed(1)}`);
      g.append(svg('circle', { cx: x, cy: y, r: 2.5, fill: color },
        svg('title', {}, `${hhmm(r.t)} ${k}: ${fmtMs(r[k])} (${r.n} runs)`)));
    });
    if (pts.length > 1) g.prepend(svg('polyline', { points: pts.join(' '), fill: 'none', stroke: color, 'stroke-width': 2 }));
  }
  rows.forEach((r, i) => { if (i % every === 0) labels.push([L + i * step, hhmm(r.t)]); });
  const empty = !rows.some((r) => r.n);
  return paint(h('figure', { class: 'chart', id },
    h('figcaption', {}, title, empty ? h('span', { class: 'muted' }, ' — no runs started yet') : null),
    svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, },
      axes(max, fmtMs, labels), g),
    legend(series)));
}
