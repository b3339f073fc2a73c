/**
 * The one error type for bad input anywhere in batchlab. It names the field and
 * the allowed range so that a notebook reader or CLI user can fix the call without
 * reading the source.
 *
 * @example
 * new InputError('batch', 0, 'an integer in [1, 65536]').message
 * // => "batch must be an integer in [1, 65536]; got 0"
 */
export class InputError extends Error {
  readonly field: string;
  readonly value: unknown;
  readonly allowed: string;
  readonly detail?: string;
  constructor(field: string, value: unknown, allowed: string, detail?: string) {
    // A value that was never given (a missing flag or field) has nothing to quote: "got undefined" says nothing.
    super(`${field} must be ${allowed}${value === undefined ? '' : `; got ${describe(value)}`}${detail ? ` (${detail})` : ''}`);
    this.name = 'InputError';
    this.field = field;
    this.value = value;
    this.allowed = allowed;
    this.detail = detail;
  }
}

/**
 * `fn`'s result; an InputError it throws (only one naming `only`, when given) is thrown again
 * naming `field` and `value`, its allowed range and detail kept: a check made deeper (a
 * catalog lookup, the performance model's layout check) refused by the caller's own field.
 *
 * @example
 * asField('setup.device', 'h900', () => loadHardware('h900')) // throws "setup.device must be one of a100-80gb, …; got \"h900\""
 */
export function asField<T>(field: string, value: unknown, fn: () => T, only?: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InputError && (only === undefined || e.field === only)) throw new InputError(field, value, e.allowed, e.detail);
    throw e;
  }
}

/** A value given in words ("1030 tokens"), quoted by no InputError: see `described`. */
export class Described {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/**
 * A value for an InputError that is a description, not the input itself: the message
 * shows it as words, where a string value is quoted as the input it was.
 *
 * @example
 * new InputError('prompt', described('1030 tokens'), 'fewer than 1024 tokens').message
 * // => 'prompt must be fewer than 1024 tokens; got 1030 tokens'
 */
export function described(text: string): Described {
  return new Described(text);
}

function describe(v: unknown): string {
  if (v instanceof Described) return v.text;
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  return typeof v;
}
