#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// One-off cross-check of tests/data/cron/next.txt against the npm package
// croner (a second independent implementation, next to croniter). Not part of
// `make test`: it needs npm. Run:
//   cd /tmp/x && npm install croner@9 && NODE_PATH=/tmp/x/node_modules \
//     node tests/unit/cron-crosscheck-croner.js tests/data/cron/next.txt
// It prints, per vector, "same", "differs" (with both lists) or "skipped"
// (syntax croner lacks: the Quartz year field, @every/@at/@manual), and a
// summary; the findings are recorded in docs/cron.md.
'use strict';
const fs = require('fs');
const { Cron } = require('croner');

const file = process.argv[2] || 'tests/data/cron/next.txt';
let same = 0, differs = 0, skipped = 0, refused = 0;
for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
  if (line.startsWith('#') || !line.trim()) continue;
  const [zone, from, expr, firesText] = line.split(' | ').map((s) => s.trim());
  const want = firesText.split(' ').filter((s) => s !== 'end');
  const fields = expr.split(/\s+/);
  if (expr.startsWith('@every') || expr.startsWith('@at') || expr.startsWith('@manual') ||
      fields.length === 7 || want.length === 0) {
    skipped++;
    continue;
  }
  const quartz = fields.length === 6;
  let got;
  try {
    // Quartz numbers weekdays 1-7 from Sunday; the POSIX OR rule is croner's
    // "legacyMode" (its default); Quartz never needs it since one day field is '?'.
    // croner reads '?' as "the value at start-up", so Quartz's '?' becomes '*'.
    const text = quartz ? fields.map((f) => (f === '?' ? '*' : f)).join(' ') : expr;
    const c = new Cron(text, { timezone: zone, alternativeWeekdays: quartz, legacyMode: true });
    got = c.nextRuns(want.length, new Date(from)).map((d) => d.toISOString().replace('.000Z', 'Z'));
  } catch (e) {
    refused++;
    console.log(`refused  ${zone} | ${expr}: ${e.message}`);
    continue;
  }
  if (got.join(' ') === want.join(' ')) {
    same++;
  } else {
    differs++;
    console.log(`differs  ${zone} | ${from} | ${expr}\n  clover ${want.join(' ')}\n  croner ${got.join(' ')}`);
  }
}
console.log(`${same} same, ${differs} differ, ${refused} refused by croner, ${skipped} skipped`);
