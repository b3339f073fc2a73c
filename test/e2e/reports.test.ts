// End to end: every notebook executes headlessly with the tslab kernel with zero cell
// errors, and every exported report renders all of its plots in headless Chromium
// with the network unreachable and nothing logged as an error.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');
const out = join(root, '.cache', 'test-reports');
const chromiumPath = process.env.BATCHLAB_CHROMIUM ?? '/usr/bin/chromium';
const notebooks = readdirSync(join(root, 'notebooks')).filter((f) => f.endsWith('.ipynb')).sort();

interface NotebookSummary {
  notebook: string;
  errors: Array<{ cell: number | null; ename: string; evalue: string }>;
  plots: number;
  html?: string;
  seconds: number;
}
let summary: NotebookSummary[] = [];

before(() => {
  // The same driver as `npm run report`, into a folder of its own.
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'report.mjs'), '--out', out], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BATCHLAB_PROFILE: 'quick' },
    timeout: 40 * 60_000,
  });
  process.stderr.write(r.stderr ?? '');
  const file = join(out, 'summary.json');
  assert.ok(existsSync(file), `the report driver wrote no summary (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  summary = JSON.parse(readFileSync(file, 'utf8')).notebooks;
});

test('every notebook in notebooks/ was executed', () => {
  assert.deepEqual(summary.map((s) => s.notebook), notebooks);
  assert.ok(notebooks.includes('00-environment.ipynb'));
});

for (const nb of notebooks) {
  test(`${nb} executes headlessly with zero cell errors`, () => {
    const s = summary.find((x) => x.notebook === nb);
    assert.ok(s, `${nb} missing from the summary`);
    assert.deepEqual(s.errors, [], s.errors.map((e) => `cell ${e.cell}: ${e.ename}: ${e.evalue}`).join('\n'));
    assert.ok(s.plots >= 1, `${nb} emitted no plot`);
  });
}

test('every report is at most 5 MB: plotly inlined once, minified', () => {
  for (const s of summary) {
    assert.ok(s.html, `${s.notebook} has no HTML report`);
    const bytes = statSync(s.html).size;
    assert.ok(bytes <= 5 * 2 ** 20, `${s.notebook}: ${(bytes / 2 ** 20).toFixed(2)} MB`);
    const html = readFileSync(s.html, 'utf8');
    assert.equal(html.split('window.__batchlabDefine = window.define').length - 1, 1, `${s.notebook}: plotly inlined more than once`);
  }
});

test('reports/index.html shows each report\'s question and one sentence of answer from its answer box, escaped', () => {
  const index = readFileSync(join(out, 'index.html'), 'utf8');
  for (const s of summary as Array<NotebookSummary & { question?: string; headline?: string[] }>) {
    assert.ok(s.question, `${s.notebook}: no question found`);
    assert.ok((s.headline ?? []).length > 0, `${s.notebook}: no headline found`);
    const html = readFileSync(s.html!, 'utf8');
    assert.ok(html.includes('class="batchlab-answer"'), `${s.notebook}: no answer box (showAnswer)`);
    // One sentence: no sentence break inside, and short enough to read at a glance (07's entry was ~400 words).
    assert.doesNotMatch(s.headline![0], /[.!?]\s+[A-Z]/, `${s.notebook}: ${s.headline![0]}`);
    assert.ok(s.headline![0].split(/\s+/).length <= 60, `${s.notebook}: ${s.headline![0].split(/\s+/).length} words`);
    assert.doesNotMatch(`${s.question} ${s.headline![0]}`, /\\\$|&#36;|<span/, `${s.notebook}: escaping shows in the index`);
  }
  assert.doesNotMatch(index.replace(/<(\/?)(html|head|meta|title|style|body|h1|p|b|table|thead|tbody|tr|th|td|a|div|ul|li|span)\b[^>]*>/g, ''), /<[a-z]/i);
  // Every answer box of a report, not only its first, with what its key numbers are (showAnswer's bases).
  for (const s of summary as Array<NotebookSummary & { answers?: Array<{ question: string; bases: string[] }> }>) {
    assert.ok((s.answers ?? []).length > 0, `${s.notebook}: no answer box in the summary`);
    for (const b of s.answers!) {
      assert.ok(index.includes(b.question.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')), `${s.notebook}: "${b.question}" not in the index`);
      assert.ok(b.bases.length > 0, `${s.notebook}: a box with no key-number basis`);
      assert.ok(index.includes(`(key numbers: ${b.bases.join(', ')})`), `${s.notebook}: its bases are not in the index`);
    }
  }
});

test('reports/index.html links every report', () => {
  const index = readFileSync(join(out, 'index.html'), 'utf8');
  for (const nb of notebooks) assert.ok(index.includes(`href="${nb.replace(/\.ipynb$/, '.html')}"`), nb);
});

test('every report renders all its plots in headless Chromium, offline, with no errors logged', async () => {
  assert.ok(
    existsSync(chromiumPath),
    `Chromium is required for the browser tests and was not found at ${chromiumPath}. Install Debian's package (apt-get install -y chromium) or run \`node scripts/setup.mjs --browser\`; set BATCHLAB_CHROMIUM to use another binary.`,
  );
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    for (const s of summary) {
      assert.ok(s.html, `${s.notebook} has no HTML report`);
      const context = await browser.newContext({ offline: true });
      const page = await context.newPage();
      const problems: string[] = [];
      const remote: string[] = [];
      // The report must need nothing but itself: any request off the file is refused and recorded.
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
        remote.push(url);
        return route.abort();
      });
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
      });
      page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
      await page.goto(pathToFileURL(s.html).href, { waitUntil: 'load', timeout: 120_000 });
      const expected = s.plots;
      await page
        .waitForFunction((n) => document.querySelectorAll('.batchlab-plot.js-plotly-plot .main-svg').length >= n, expected, { timeout: 60_000 })
        .catch(() => undefined);
      const counts = await page.evaluate(() => ({
        // The report opens with its answer: the box comes before every plot and every table.
        answerFirst: (() => {
          const box = document.querySelector('.batchlab-answer');
          const first = document.querySelector('.batchlab-plot, .batchlab-table');
          return !!box && (!first || !!(box.compareDocumentPosition(first) & Node.DOCUMENT_POSITION_FOLLOWING));
        })(),
        answerTop: document.querySelector('.batchlab-answer')?.getBoundingClientRect().top ?? Infinity,
        containers: document.querySelectorAll('.batchlab-plot').length,
        rendered: document.querySelectorAll('.batchlab-plot.js-plotly-plot').length,
        plotly: typeof (window as unknown as { Plotly?: unknown }).Plotly,
      }));
      await context.close();
      assert.ok(counts.answerFirst, `${s.notebook}: the answer box does not open the report`);
      assert.ok(counts.answerTop < 900, `${s.notebook}: the answer box starts ${counts.answerTop} px down, below the first screen`);
      assert.equal(counts.plotly, 'object', `${s.notebook}: window.Plotly is not defined`);
      assert.equal(counts.containers, expected, `${s.notebook}: plot containers in the page vs plots the notebook emitted`);
      assert.equal(counts.rendered, expected, `${s.notebook}: rendered plotly graphs vs plots the notebook emitted`);
      assert.deepEqual(remote, [], `${s.notebook} asked for remote resources`);
      assert.deepEqual(problems, [], `${s.notebook} logged errors`);
    }
  } finally {
    await browser.close();
  }
});
