import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, escapeMarkdownHtml, provenanceLine, tableBundle } from '../../lib/report/index.js';
import type { DeviceInfo } from '../../lib/backend/device.js';

const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>';

test('tableBundle escapes column headers as well as cells (regression: headers went into the HTML raw)', () => {
  const html = String(tableBundle([{ [HOSTILE]: HOSTILE, n: 1.23456789 }])['text/html']);
  assert.doesNotMatch(html, /<script|<img/);
  assert.equal(html.match(/&lt;script&gt;/g)?.length, 2, 'header and cell both shown as text');
  assert.match(html, />1\.235</, 'numbers still rounded to 4 digits');
});

test('escapeMarkdownHtml neutralises raw HTML and javascript: links outside code, and leaves code spans literal', () => {
  const md = escapeMarkdownHtml(`Measured on ${HOSTILE} [x](javascript:alert(3)); \`a<b && c>d\``);
  assert.doesNotMatch(md, /<script|<img|javascript:/i);
  assert.ok(md.includes('`a<b && c>d`'), md);
  assert.equal(escapeMarkdownHtml('**bold** & 5 < 6'), '**bold** &amp; 5 &lt; 6');
});

test('provenanceLine of a hostile host name, shown as Markdown, carries no tag (regression)', () => {
  const info = { host: HOSTILE, platform: 'linux-x64', cpuModel: 'X', cores: 2, memoryBytes: 1, backend: 'cpu', device: `cpu: ${HOSTILE}`, versions: { 'tfjs-core': '4', node: '20' } } as DeviceInfo;
  const md = escapeMarkdownHtml(provenanceLine(info));
  assert.doesNotMatch(md, /<script|<img/);
  assert.match(md, /&lt;script&gt;/);
  assert.doesNotMatch(escapeMarkdownHtml(provenanceLine({ source: HOSTILE, device: HOSTILE })), /<script|<img/);
});

test('escapeHtml escapes the five HTML-significant characters', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});

test('timingSpreadNote judges the median CV: steady ≤ 0.05, noisy > 0.2 (regression: notebook 00 called a median CV of 0.21 trustworthy)', async () => {
  const { timingSpreadNote } = await import('../../lib/report/index.js');
  assert.match(timingSpreadNote([0.01, 0.03, 0.02]), /^Median CV 0\.02: steady/);
  assert.match(timingSpreadNote([0.1, 0.12]), /^Median CV 0\.11: moderately noisy.*±11 %/);
  assert.match(timingSpreadNote([0.21, 0.5, 0.1]), /^Median CV 0\.21: noisy/);
  assert.match(timingSpreadNote([NaN]), /No repeated timings/);
});

test('tableBundle shows null, undefined and non-finite numbers as a dash, never as "null" or "Infinity"', () => {
  const html = String(tableBundle([{ refusal: null, cost: Infinity, gap: undefined, x: 1.5 }, { refusal: 'too big', cost: 2, gap: 3, x: 2 }])['text/html']);
  assert.ok(!/>null<|>Infinity<|>undefined</.test(html), html);
  assert.equal((html.match(/>—</g) ?? []).length, 3);
  assert.match(html, />too big</);
  assert.match(html, />1\.5</);
});
