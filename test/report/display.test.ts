import { test } from 'node:test';
import assert from 'node:assert/strict';
import { figureBundle, PLOTLY_MIME, PLOT_CLASS, notebookProfile, describeSamples } from '../../lib/report/index.js';
import { InputError } from '../../lib/util/errors.js';

test('figureBundle(fig) carries plotly JSON for JupyterLab and an HTML fallback for reports', () => {
  const b = figureBundle({ data: [{ type: 'scatter', x: [1], y: [2], name: '</script><b>' }], layout: { title: { text: 'T' } } });
  assert.deepEqual(Object.keys(b), [PLOTLY_MIME, 'text/html', 'text/plain']);
  const html = String(b['text/html']);
  assert.ok(html.includes(`class="${PLOT_CLASS}"`));
  // A trace name must not be able to close the script element.
  assert.equal(html.match(/<\/script>/g)?.length, 1);
  assert.ok(html.includes('\\u003c/script\\u003e'));
  assert.equal(b['text/plain'], '[plotly figure: T]');
  assert.equal((b[PLOTLY_MIME] as { layout: { height: number } }).layout.height, 420);
});

test('figureBundle gives every figure a distinct container id', () => {
  const id = (s: unknown) => /id="([^"]+)"/.exec(String(s))![1];
  const a = figureBundle({ data: [], layout: {} })['text/html'];
  const b = figureBundle({ data: [], layout: {} })['text/html'];
  assert.notEqual(id(a), id(b));
});

test('notebookProfile(name) is quick by default and rejects unknown profiles naming BATCHLAB_PROFILE', () => {
  assert.equal(notebookProfile(undefined).name, 'quick');
  assert.ok(notebookProfile('thorough').minTimeMs > notebookProfile('quick').minTimeMs);
  assert.throws(() => notebookProfile('fast'), (e: unknown) => e instanceof InputError && /BATCHLAB_PROFILE must be one of "quick", "thorough"; got "fast"/.test(e.message));
});

test('describeSamples(samples) matches hand-computed statistics (pandas describe rows)', () => {
  const rows = describeSamples({ a: [1, 2, 3, 4, 10], b: [2, 2] });
  const get = (stat: string, col: string) => rows.find((r) => r.stat === stat)![col];
  // a = [1,2,3,4,10]: mean 4, median 3, sample std sqrt(62.5/... ) = sqrt(12.5) = 3.5355 (n-1 denominator)
  assert.equal(get('count', 'a'), 5);
  assert.equal(get('mean', 'a'), 4);
  assert.equal(get('median', 'a'), 3);
  assert.ok(Math.abs(Number(get('std', 'a')) - Math.sqrt(12.5)) < 1e-12);
  // Columns may differ in length: b has 2 samples, mean 2 and no spread.
  assert.equal(get('count', 'b'), 2);
  assert.equal(get('max', 'b'), 2);
  assert.equal(get('mean', 'b'), 2);
  assert.equal(get('std', 'b'), 0);
});
