// Golden-file snapshots of chart specs, after Observable Plot's snapshot tests: a spec is
// compared with test/plot/golden/<name>.json after rounding its numbers; a differing spec
// is written beside it as <name>-changed.json (diff the two, then accept with the update
// flag). BATCHLAB_UPDATE_GOLDEN=1 writes missing goldens and replaces changed ones:
//   BATCHLAB_UPDATE_GOLDEN=1 node scripts/test.mjs test/plot
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const UPDATE_COMMAND = 'BATCHLAB_UPDATE_GOLDEN=1 node scripts/test.mjs test/plot';

/** Significant digits kept: enough to see a changed model, few enough to ignore floating-point noise. */
export const GOLDEN_DIGITS = 4;

/** Numbers rounded to `digits` significant digits, typed arrays as plain arrays, non-finite numbers as strings (JSON has none). */
export function roundForGolden(value: unknown, digits = GOLDEN_DIGITS): unknown {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    const r = Number(value.toPrecision(digits));
    return Object.is(r, -0) ? 0 : r;
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>, (v) => roundForGolden(v, digits));
  if (Array.isArray(value)) return value.map((v) => roundForGolden(v, digits));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = roundForGolden(v, digits);
    return out;
  }
  return value;
}

function firstDifference(a: unknown, b: unknown, path = '$'): string | undefined {
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null)) return `${path}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`;
  if (a !== null && typeof a === 'object') {
    const ka = Object.keys(a as object);
    const kb = Object.keys(b as object);
    for (const k of new Set([...ka, ...kb])) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return a === b ? undefined : `${path}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`;
}

/**
 * Asserts that `spec`, rounded, equals the golden file `name`.json. On a difference it
 * writes `name`-changed.json beside the golden and fails naming the first differing
 * path; a missing golden fails too, unless BATCHLAB_UPDATE_GOLDEN=1 asks to write it.
 */
export function assertMatchesGolden(name: string, spec: unknown): void {
  const golden = join(GOLDEN_DIR, `${name}.json`);
  const changed = join(GOLDEN_DIR, `${name}-changed.json`);
  const actual = roundForGolden(spec);
  const text = `${JSON.stringify(actual, null, 1)}\n`;
  const update = process.env.BATCHLAB_UPDATE_GOLDEN === '1';
  const rel = (p: string) => relative(process.cwd(), p);
  if (!existsSync(golden)) {
    if (!update) assert.fail(`no golden file ${rel(golden)} for chart "${name}"; write it with: ${UPDATE_COMMAND}`);
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(golden, text);
    rmSync(changed, { force: true });
    return;
  }
  const expectedText = readFileSync(golden, 'utf8');
  if (expectedText === text) {
    rmSync(changed, { force: true });
    return;
  }
  if (update) {
    writeFileSync(golden, text);
    rmSync(changed, { force: true });
    return;
  }
  writeFileSync(changed, text);
  const where = firstDifference(JSON.parse(expectedText), actual) ?? 'formatting only';
  assert.fail(`chart "${name}" differs from ${rel(golden)} at ${where}; the new spec is in ${rel(changed)}. If the change is intended, accept it with: ${UPDATE_COMMAND}`);
}
