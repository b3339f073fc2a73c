import { resolve, sep } from 'node:path';
import { Command } from 'commander';
import { checkInt } from '../../lib/util/validate.js';
import { InputError } from '../../lib/util/errors.js';

import type { CliIo } from './io.js';

export type { CliIo } from './io.js';

// Each command file exports `register(program)`; the io travels with the root program
// so that a command finds it from the Command its action receives.
const ios = new WeakMap<Command, CliIo>();

/** Binds `io` to the root `program` (done once by batchlabProgram). */
export function attachIo(program: Command, io: CliIo): void {
  ios.set(program, io);
}

function root(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

/**
 * The io of the program that `cmd` belongs to.
 *
 * @example
 * program.command('x').action((_o, cmd: Command) => ioOf(cmd).out('hello'));
 */
export function ioOf(cmd: Command): CliIo {
  const io = ios.get(root(cmd));
  if (!io) throw new Error('batchlab CLI: command used outside batchlabProgram');
  return io;
}

/** Whether the global `--json` flag was given. */
export function wantsJson(cmd: Command): boolean {
  return Boolean((root(cmd).opts() as { json?: boolean }).json);
}

/**
 * Prints a command's result: one JSON document under `--json` (numbers as numbers,
 * for scripts), otherwise the human-readable lines from `text`.
 *
 * @example
 * emit(cmd, { knee: 64 }, () => [`knee at M = 64`]);
 */
export function emit(cmd: Command, value: unknown, text: () => string[]): void {
  const io = ioOf(cmd);
  if (wantsJson(cmd)) io.out(JSON.stringify(value, null, 2));
  else for (const line of text()) io.out(line);
}

/**
 * A strict decimal number: "0x10", "1e3 " with junk, "" and "Infinity" are refused, so a
 * typo never silently becomes another number (Number('0x10') is 16).
 *
 * @example
 * decimalArg('--rate', '2.5') // => 2.5
 */
export function decimalArg(flag: string, raw: string): number {
  const s = raw.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) throw new InputError(flag, raw, 'a decimal number');
  return Number(s);
}

/** A strict decimal integer within [min, max]. */
export function intArg(flag: string, raw: string, min: number, max: number): number {
  const s = raw.trim();
  if (!/^[+-]?\d+$/.test(s)) throw new InputError(flag, raw, `an integer in [${min}, ${max}]`);
  return checkInt(flag, Number(s), { min, max });
}

/**
 * A simulation's `--seed`: a strict integer in [0, 2³² − 1], as the simulators take it.
 *
 * @example
 * seedArg('7') // => 7
 */
export function seedArg(raw: string): number {
  return intArg('--seed', raw, 0, 2 ** 32 - 1);
}

/**
 * Maps a library InputError's field to the flag that fed it, so the message names
 * what the user typed: `fields` maps a field (e.g. 'layout.tensorParallel') to its
 * flag ('--tp'); `words` replaces internal names inside the allowed range as well.
 *
 * @example
 * asFlags(() => checkInt('tp', 0, { min: 1 }), { tp: '--tp' }) // throws "--tp must be an integer in [1, inf); got 0"
 */
export function asFlags<T>(fn: () => T, fields: Record<string, string>, words: Record<string, string> = {}): T {
  try {
    return fn();
  } catch (err) {
    throw renamed(err, fields, words);
  }
}

/**
 * `asFlags` for an async call.
 *
 * @example
 * await asFlagsAsync(() => runLoad(o), { url: '--url' });
 */
export async function asFlagsAsync<T>(fn: () => Promise<T>, fields: Record<string, string>, words: Record<string, string> = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw renamed(err, fields, words);
  }
}

function renamed(err: unknown, fields: Record<string, string>, words: Record<string, string>): unknown {
  if (!(err instanceof InputError) || !Object.hasOwn(fields, err.field)) return err;
  let allowed = err.allowed;
  for (const [w, flag] of Object.entries(words)) allowed = allowed.split(w).join(flag);
  return new InputError(fields[err.field], err.value, allowed, err.detail);
}

/**
 * A strict decimal number within bounds (as `decimalArg`), named by its flag; the
 * refusal gives the range, with open ends where the bounds are exclusive.
 *
 * @example
 * decimalInRange('--cache-hit', '0.5', { min: 0, max: 1, exclusiveMax: true }) // => 0.5
 * decimalInRange('--cache-hit', '1', { min: 0, max: 1, exclusiveMax: true }) // throws "--cache-hit must be a number in [0, 1); got "1""
 */
export function decimalInRange(flag: string, raw: string, bounds: { min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean }): number {
  const lo = bounds.min === undefined ? '-inf' : String(bounds.min);
  const hi = bounds.max === undefined ? 'inf' : String(bounds.max);
  const allowed = `a number in ${bounds.exclusiveMin ? '(' : '['}${lo}, ${hi}${bounds.exclusiveMax || bounds.max === undefined ? ')' : ']'}`;
  const s = raw.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) throw new InputError(flag, raw, allowed);
  const v = Number(s);
  const ok =
    Number.isFinite(v) &&
    (bounds.min === undefined || (bounds.exclusiveMin ? v > bounds.min : v >= bounds.min)) &&
    (bounds.max === undefined || (bounds.exclusiveMax ? v < bounds.max : v <= bounds.max));
  if (!ok) throw new InputError(flag, raw, allowed);
  return v;
}

/**
 * A file-system error (ENOENT, EACCES, EISDIR, …) as an InputError naming the flag or
 * argument whose path it concerns, found in `argv`: the flag whose value is the path or a
 * folder above it. Null for any other error, or when no argument names that path.
 *
 * @example
 * fsErrorAsFlag(Object.assign(new Error("EACCES: permission denied, open '/x/y'"), { code: 'EACCES', path: '/x/y' }), ['sweep', '--out', '/x'])
 * // => InputError "--out must be a path this user can read or write; got "/x" (EACCES: permission denied, open '/x/y')"
 */
export function fsErrorAsFlag(err: unknown, argv: readonly string[]): InputError | null {
  const e = err as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof e.code !== 'string' || typeof e.path !== 'string') return null;
  const target = resolve(e.path);
  const within = (value: string): boolean => {
    const v = resolve(value);
    return target === v || target.startsWith(v.endsWith(sep) ? v : v + sep);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    let flag: string;
    let value: string | undefined;
    if (a.startsWith('--') && a.includes('=')) [flag, value] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
    else if (a.startsWith('-')) [flag, value] = [a, argv[i + 1]];
    else [flag, value] = [i > 0 && argv[i - 1].startsWith('-') ? '' : 'input', a];
    if (flag !== '' && value !== undefined && value !== '' && within(value)) {
      return new InputError(flag, value, 'a path this user can read or write', e.message);
    }
  }
  return null;
}
