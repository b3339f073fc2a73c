// Hostile Markdown: whatever text reaches showMarkdown (a host name, a model id, a
// sentence with code spans and fences), the rendered page holds no element or attribute
// that batchlab did not write, and every dollar sign stays text. The renderer is
// markdown-it with raw HTML enabled: a CommonMark parser, as JupyterLab's and nbconvert's are.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import MarkdownIt from 'markdown-it';
import { escapeMarkdownHtml, provenanceLine } from '../../lib/report/index.js';
import type { DeviceInfo } from '../../lib/backend/device.js';
import { FC_RUN } from './harness.js';

const render = new MarkdownIt({ html: true, linkify: false });
const counts = new Map<string, number>();
const count = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
after(() => {
  for (const [name, n] of counts) console.log(`[fuzz] ${name}: ${n} inputs rendered, no live HTML`);
});

// Pieces that CommonMark treats specially around code and raw HTML.
const PIECES = [
  '`', '``', '```', '~~~', '\n', '\n\n', ' ', '    ', '\\', '$', '$1.65', 'a', '*', '_', '[x](javascript:alert(1))', '[x]: javascript:alert(1)',
  '![i](x)', '<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '<a href="javascript:alert(1)">', '</code>', '<pre>', '</pre>', '&lt;', '&#60;script&#62;',
  '<!--', '-->', '<svg onload=alert(1)>', 'javascript:', '|', '>', '#',
];
const hostileMarkdown = fc.array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 6 })), { maxLength: 40 }).map((xs) => xs.join(''));

// What batchlab itself writes (DOLLAR_HTML, code) and what Markdown syntax makes.
const ALLOWED_TAGS = new Set(['p', 'code', 'pre', 'span', 'em', 'strong', 'a', 'img', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'blockquote', 'hr', 'br', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 's']);
const ALLOWED_ATTRIBUTES = new Set(['class', 'href', 'src', 'alt', 'title', 'start', 'style']);

function assertNoLiveHtml(md: string): void {
  const html = render.render(escapeMarkdownHtml(md));
  for (const m of html.matchAll(/<\/?([a-zA-Z][\w-]*)([^>]*)>/g)) {
    const [, tag, attrs] = m;
    assert.ok(ALLOWED_TAGS.has(tag.toLowerCase()), `element <${tag}> from ${JSON.stringify(md)}:\n${html}`);
    for (const a of attrs.matchAll(/([^\s=]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/g)) {
      const [, name, value] = a;
      assert.ok(ALLOWED_ATTRIBUTES.has(name.toLowerCase()), `attribute ${name} from ${JSON.stringify(md)}:\n${html}`);
      if (name === 'class') assert.equal(value, '"batchlab-dollar"');
      if (name === 'href' || name === 'src') assert.doesNotMatch(value, /^["']?\s*(javascript|vbscript|data):/i, html);
    }
  }
  // Every $ is alone in its span (or inside code, where MathJax does not look).
  const outsideCode = html.replace(/<code>[\s\S]*?<\/code>/g, '').replaceAll('<span class="batchlab-dollar">$</span>', '');
  assert.doesNotMatch(outsideCode, /\$/, `a bare $ from ${JSON.stringify(md)}:\n${html}`);
}

test('escapeMarkdownHtml of hostile Markdown renders with no element, attribute or link batchlab did not write, and no bare $ (fast-check)', () => {
  fc.assert(
    fc.property(hostileMarkdown, (md) => {
      assertNoLiveHtml(md);
      count('escapeMarkdownHtml');
    }),
    FC_RUN,
  );
});

test('provenanceLine with a hostile host, device and source renders with no live HTML (fast-check)', () => {
  fc.assert(
    fc.property(hostileMarkdown, hostileMarkdown, (host, device) => {
      const info = { host, platform: 'linux-x64', cpuModel: 'X', cores: 2, memoryBytes: 1, backend: 'cpu', device, versions: { 'tfjs-core': '4', node: '20' } } as DeviceInfo;
      assertNoLiveHtml(provenanceLine(info));
      assertNoLiveHtml(provenanceLine({ source: host, device }));
      count('provenanceLine');
    }),
    FC_RUN,
  );
});

test('the reproducers of the code-span and fence bypass render as text', () => {
  for (const md of [
    '``<img src=x onerror=alert(1)>`',
    '`a``<script>alert(1)</script>`',
    '```\n<script>alert(1)</script>',
    '~~~\n<img src=x onerror=alert(1)>\n~~~',
    'Measured on `` `host<img src=x onerror=alert(1)>',
    'costs $0.30 per million tokens at $2 per GPU-hour',
  ]) {
    assertNoLiveHtml(md);
    count('reproducers');
  }
});
