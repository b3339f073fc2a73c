import assert from 'node:assert/strict';
import { InputError } from '../../lib/util/errors.js';

/** What one fuzzed call ended in. */
export interface FuzzTally {
  inputs: number;
  ok: number;
  inputErrors: number;
  /** Slowest single call, ms: a hang shows up here as a timeout of the whole test. */
  slowestMs: number;
}

export const tallies = new Map<string, FuzzTally>();

/**
 * Runs `fn` on one generated input: it must either return a value that `check` accepts
 * (finite numbers, non-negative counts) or throw an InputError whose field is named.
 * Anything else (a TypeError, a RangeError, a NaN result) fails the property.
 */
export function expectCleanOutcome<T>(name: string, fn: () => T, check: (v: T) => void): void {
  const t = tallies.get(name) ?? { inputs: 0, ok: 0, inputErrors: 0, slowestMs: 0 };
  tallies.set(name, t);
  t.inputs++;
  const t0 = performance.now();
  let value: T;
  try {
    value = fn();
  } catch (err) {
    t.slowestMs = Math.max(t.slowestMs, performance.now() - t0);
    if (err instanceof InputError) {
      assert.ok(typeof err.field === 'string' && err.field.length > 0, `InputError without a field: ${err.message}`);
      assert.ok(err.message.includes(' must be '), err.message);
      t.inputErrors++;
      return;
    }
    throw err;
  }
  t.slowestMs = Math.max(t.slowestMs, performance.now() - t0);
  check(value);
  t.ok++;
}

/** Prints each property's tally and the total (the counts a fuzz run reports). */
export function reportTallies(suite: string): void {
  let inputs = 0, ok = 0, errs = 0;
  for (const [name, t] of tallies) {
    inputs += t.inputs;
    ok += t.ok;
    errs += t.inputErrors;
    console.log(`${suite} ${name}: ${t.inputs} inputs, ${t.ok} results, ${t.inputErrors} InputErrors, 0 other outcomes, slowest ${t.slowestMs.toFixed(1)} ms`);
  }
  console.log(`${suite} total: ${tallies.size} properties, ${inputs} inputs, ${ok} finite results, ${errs} clean InputErrors, 0 other outcomes`);
}

/** Every number reachable in `v` (own enumerable properties, arrays, typed arrays) is finite. */
export function assertAllFinite(v: unknown, path = 'result', seen = new Set<unknown>()): void {
  if (typeof v === 'number') {
    assert.ok(Number.isFinite(v), `${path} is ${v}`);
    return;
  }
  if (v === null || typeof v !== 'object' || seen.has(v)) return;
  seen.add(v);
  if (ArrayBuffer.isView(v)) {
    const a = v as unknown as ArrayLike<number>;
    for (let i = 0; i < a.length; i++) assert.ok(Number.isFinite(a[i]), `${path}[${i}] is ${a[i]}`);
    return;
  }
  for (const [k, x] of Object.entries(v)) assertAllFinite(x, `${path}.${k}`, seen);
}

/** Numbers a careless or hostile caller passes. */
export const HOSTILE_NUMBERS = [0, -0, -1, 1, 0.5, 1e-322, 1e-300, 1e308, -1e308, 2 ** 31, 2 ** 53, NaN, Infinity, -Infinity, 0x10];
export const HOSTILE_STRINGS = ['', ' ', 'constructor', '__proto__', 'toString', 'hasOwnProperty', '0x10', '1e999', '../x', '<script>', '\n', 'NaN'];

/** fast-check parameters: bounded runs and a time limit per property, never a failure for the limit itself. */
export const FC_RUN = { numRuns: 400, interruptAfterTimeLimit: 3000, markInterruptAsFailure: false, endOnFailure: true, seed: 20261130 };

/**
 * A valid input, or the same input with one field (a dotted path) replaced by a hostile
 * value: half the runs reach a result, the other half probe one field at a time.
 */
export function withOneMutation<T extends object>(valid: T, paths: readonly string[], hostile: unknown[], pick: { path: number; value: number; mutate: boolean }): T {
  const copy = structuredCloneSafe(valid);
  if (!pick.mutate) return copy;
  const path = paths[pick.path % paths.length].split('.');
  let at = copy as Record<string, unknown>;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
  at[path[path.length - 1]] = hostile[pick.value % hostile.length];
  return copy;
}

function structuredCloneSafe<T>(v: T): T {
  // Functions (step costs) are kept by reference; everything else is copied.
  if (typeof v === 'function' || v === null || typeof v !== 'object') return v;
  if (ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) return v.map(structuredCloneSafe) as T;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = structuredCloneSafe(x);
  return out as T;
}
