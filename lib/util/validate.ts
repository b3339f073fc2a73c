import { InputError } from './errors.js';

/** Bounds for a numeric argument; both ends inclusive unless `exclusiveMin` is set. */
export interface Bounds {
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
}

function range(b: Bounds, integer: boolean): string {
  const kind = integer ? 'an integer' : 'a finite number';
  const lo = b.min === undefined ? '-inf' : String(b.min);
  const hi = b.max === undefined ? 'inf' : String(b.max);
  const open = b.exclusiveMin ? '(' : '[';
  return `${kind} in ${open}${lo}, ${hi}${b.max === undefined ? ')' : ']'}`;
}

/**
 * A finite number within bounds, or an InputError naming `field`.
 * Rejects NaN, ±Infinity, strings and undefined.
 *
 * @example
 * checkNumber('windowMs', 5, { min: 0 }) // => 5
 */
export function checkNumber(field: string, value: unknown, bounds: Bounds = {}): number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (bounds.min === undefined || (bounds.exclusiveMin ? value > bounds.min : value >= bounds.min)) &&
    (bounds.max === undefined || value <= bounds.max);
  if (!ok) throw new InputError(field, value, range(bounds, false));
  return value as number;
}

/**
 * A safe integer within bounds, or an InputError naming `field`.
 *
 * @example
 * checkInt('experts', 256, { min: 1, max: 4096 }) // => 256
 */
export function checkInt(field: string, value: unknown, bounds: Bounds = {}): number {
  const ok =
    typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    (bounds.min === undefined || (bounds.exclusiveMin ? value > bounds.min : value >= bounds.min)) &&
    (bounds.max === undefined || value <= bounds.max);
  if (!ok) throw new InputError(field, value, range(bounds, true));
  return value as number;
}

/**
 * A positive number (> 0).
 *
 * @example
 * checkPositive('rate', 2.5) // => 2.5
 * checkPositive('rate', 0) // throws InputError: rate must be a finite number in (0, inf)
 */
export function checkPositive(field: string, value: unknown, max?: number): number {
  return checkNumber(field, value, { min: 0, exclusiveMin: true, max });
}

/**
 * A probability or fraction in [0, 1].
 *
 * @example
 * checkFraction('share', 0.9) // => 0.9
 * checkFraction('share', 1.5) // throws InputError naming share
 */
export function checkFraction(field: string, value: unknown): number {
  return checkNumber(field, value, { min: 0, max: 1 });
}

/**
 * One of a fixed set of strings.
 *
 * @example
 * checkOneOf('policy', 'window', ['window', 'continuous']) // => 'window'
 */
export function checkOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InputError(field, value, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  }
  return value as T;
}

/**
 * An object whose keys are all among `allowed`: a misspelt or unknown field of a JSON
 * spec is refused, naming it, instead of silently falling back to a default.
 *
 * @example
 * checkKnownKeys('slo', { tpotSeconds: 0.05 }, ['ttftSeconds', 'tpotSeconds']) // passes
 * checkKnownKeys('slo', { tpot: 0.05 }, ['ttftSeconds', 'tpotSeconds']) // throws "slo.tpot must be left out (slo has the fields ttftSeconds, tpotSeconds); got 0.05"
 */
export function checkKnownKeys(field: string, value: object, allowed: readonly string[]): void {
  const unknown = Object.keys(value).find((k) => !allowed.includes(k));
  if (unknown !== undefined) throw new InputError(`${field}.${unknown}`, (value as Record<string, unknown>)[unknown], `left out (${field} has the fields ${allowed.join(', ')})`);
}

/**
 * A non-empty array whose length is at most `maxLength`.
 *
 * @example
 * checkArray<number>('batches', [1, 2, 4], 100) // => [1, 2, 4]
 * checkArray('batches', [], 100) // throws InputError: a non-empty array of at most 100 items
 */
export function checkArray<T>(field: string, value: unknown, maxLength = Number.MAX_SAFE_INTEGER): T[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > maxLength) {
    throw new InputError(field, value, `a non-empty array of at most ${maxLength} items`);
  }
  return value as T[];
}
