import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DOLLAR_HTML, escapeHtml, escapeHtmlText, escapeMarkdownHtml, provenanceLine, tableBundle } from '../../lib/report/index.js';
import type { DeviceInfo } from '../../lib/backend/device.js';

const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>';

test('tableBundle escapes column headers as well as cells (regression: headers went into the HTML raw)', () => {
  const html = String(tableBundle([{ [HOSTILE]: HOSTILE, n: 1.23456789 }])['text/html']);
  assert.doesNotMatch(html, /<script|<img/);
  assert.equal(html.match(/&lt;script&gt;/g)?.length, 2, 'header and cell both shown as text');
  assert.match(html, />1\.235</, 'numbers still rounded to 4 digits');
});

test('escapeMarkdownHtml neutralises raw HTML and javascript: links outside code, and writes code spans as escaped <code>', () => {
  const md = escapeMarkdownHtml(`Measured on ${HOSTILE} [x](javascript:alert(3)); \`a<b && c>d\``);
  assert.doesNotMatch(md, /<script|<img|javascript:/i);
  assert.ok(md.includes('<code>a&lt;b &amp;&amp; c&gt;d</code>'), md);
  assert.equal(escapeMarkdownHtml('**bold** & 5 < 6'), '**bold** &amp; 5 &lt; 6');
});

test('escapeMarkdownHtml holds inside code spans and fences (regression: an unmatched backtick run or a fence let <img onerror> through)', () => {
  // CommonMark: `` with no closing `` is literal backticks, so the HTML after it was live; the old split took it for code.
  for (const md of ['``<img src=x onerror=alert(1)>`', '`a``<script>alert(1)</script>`', '```\n<script>alert(1)</script>', '~~~\n<img src=x onerror=alert(1)>\n~~~', '```<script>alert(1)</script>```']) {
    const out = escapeMarkdownHtml(md);
    assert.doesNotMatch(out, /<script|<img/i, out);
    assert.doesNotMatch(out, /`/, `no backtick is left for a renderer to pair: ${out}`);
    assert.doesNotMatch(out, /<(?!\/?(code|pre)>)/, `only the <code> and <pre> written here: ${out}`);
  }
  assert.equal(escapeMarkdownHtml('```js\nif (a < b) x = "$1";\n```'), '<pre><code>if (a &lt; b) x = &quot;&#36;1&quot;;</code></pre>');
  // A run of two closes only at a run of two (CommonMark code spans); one space each side is stripped.
  assert.equal(escapeMarkdownHtml('``a`b``'), '<code>a&#96;b</code>');
  assert.equal(escapeMarkdownHtml('`` `x` ``'), '<code>&#96;x&#96;</code>');
  assert.equal(escapeMarkdownHtml('`a*b*_c_`'), '<code>a&#42;b&#42;&#95;c&#95;</code>', 'no emphasis inside code');
  assert.equal(escapeMarkdownHtml('\\`<b>'), '&#96;&lt;b&gt;', 'a backslash-escaped backtick stays a backtick');
  assert.match(escapeMarkdownHtml('[x]: javascript:alert(1)'), /^\[x\]: #/);
});

test('escapeMarkdownHtml keeps every dollar sign as text: each $ in its own span as an entity, so neither the Markdown source nor MathJax sees a $…$ pair', () => {
  const out = escapeMarkdownHtml('costs $0.30 per million tokens at $2 per GPU-hour');
  assert.equal(out, `costs ${DOLLAR_HTML}0.30 per million tokens at ${DOLLAR_HTML}2 per GPU-hour`);
  assert.doesNotMatch(out.replace(/<[^>]+>/g, ''), /\$/, 'no literal $ outside tags');
  // The old sentences escaped $ as \$ for Lab: a backslash before $ now reads as the same dollar sign.
  assert.equal(escapeMarkdownHtml('\\$2'), `${DOLLAR_HTML}2`);
  assert.equal(escapeHtmlText('<b>$1'), `&lt;b&gt;${DOLLAR_HTML}1`);
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

test('tableBundle shows booleans as yes and no, and a dollar sign as DOLLAR_HTML (regression: "true" in tables, $…$ read as maths in Lab)', () => {
  const html = String(tableBundle([{ 'cost ($/M)': '$1.65 → $0.95', 'within ±10 %': true }, { 'cost ($/M)': '-', 'within ±10 %': false }])['text/html']);
  assert.doesNotMatch(html, />true<|>false</);
  assert.match(html, />yes</);
  assert.match(html, />no</);
  assert.equal(html.split(DOLLAR_HTML).length - 1, 3, 'the header and both amounts');
  assert.doesNotMatch(html.replace(/<[^>]+>/g, ''), /\$/);
});
