// Static checks of the notebooks' own prose: no raw dollar sign in a Markdown cell (JupyterLab
// reads $…$ as mathematics; prose writes <span class="batchlab-dollar">&#36;</span>), and
// every notebook shows its answer box.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DOLLAR_HTML } from '../../lib/report/index.js';

const dir = join(resolve(import.meta.dirname, '..', '..'), 'notebooks');
const notebooks = readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort();
const cells = (f: string) => (JSON.parse(readFileSync(join(dir, f), 'utf8')).cells as Array<{ cell_type: string; source: string[] | string }>).map((c) => ({ type: c.cell_type, text: Array.isArray(c.source) ? c.source.join('') : c.source }));

test('no Markdown cell of a notebook holds a raw $ (each is DOLLAR_HTML)', () => {
  for (const f of notebooks) {
    for (const c of cells(f).filter((x) => x.type === 'markdown')) {
      assert.doesNotMatch(c.text.replaceAll(DOLLAR_HTML, ''), /\$/, `${f}: ${c.text.slice(0, 120)}`);
    }
  }
});

test('every notebook 00–08 shows an answer box (showAnswer)', () => {
  assert.ok(notebooks.length >= 9);
  for (const f of notebooks) assert.ok(cells(f).some((c) => c.type === 'code' && c.text.includes('showAnswer(')), f);
});
