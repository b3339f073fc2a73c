import { InputError } from '../util/errors.js';
import { checkInt } from '../util/validate.js';

/** One shard of a sweep: shard `index` (0-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** The environment variables cluster schedulers set to a task's index, in the order they are read. */
export const SHARD_INDEX_VARIABLES = ['SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX'] as const;

/**
 * Parses a shard spec "i/n" (0 ≤ i < n). With "/n" alone, or "i" left as "$", the
 * index comes from the scheduler: SLURM_ARRAY_TASK_ID (a Slurm job array, run it
 * with --array=0-(n-1)) or JOB_COMPLETION_INDEX (a Kubernetes Indexed Job). An
 * explicit i that disagrees with a set variable is an error, never silently overridden.
 *
 * @example
 * parseShard('2/8') // => { index: 2, count: 8 }
 * parseShard('/8', { SLURM_ARRAY_TASK_ID: '5' }) // => { index: 5, count: 8 }
 */
export function parseShard(spec: string, env: Record<string, string | undefined> = process.env): Shard {
  const m = typeof spec === 'string' ? /^\s*(\d*|\$)\s*\/\s*(\d+)\s*$/.exec(spec) : null;
  if (!m) throw new InputError('--shard', spec, '"i/n" with 0 ≤ i < n, or "/n" to take i from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX');
  const count = checkInt('--shard n', Number(m[2]), { min: 1, max: 1_000_000 });
  let fromEnv: { name: string; value: number } | null = null;
  for (const name of SHARD_INDEX_VARIABLES) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') {
      // The scheduler's text itself in the error ("-1", "abc", "1.0"), not what a parse made of it.
      if (!/^\d+$/.test(raw)) throw new InputError(name, raw, `an integer in [0, ${count - 1}] (a shard index of "/${count}")`);
      const value = checkInt(name, Number(raw), { min: 0, max: count - 1 });
      // Two schedulers' indices that disagree leave no shard to take: neither is picked silently.
      if (fromEnv && fromEnv.value !== value) throw new InputError(name, raw, `${fromEnv.value}, as ${fromEnv.name} is set, or unset (a job is one scheduler's)`);
      fromEnv ??= { name, value };
    }
  }
  if (m[1] === '' || m[1] === '$') {
    if (!fromEnv) throw new InputError('--shard', spec, 'an explicit index "i/n" when neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set');
    return { index: fromEnv.value, count };
  }
  const index = checkInt('--shard i', Number(m[1]), { min: 0, max: count - 1 });
  if (fromEnv && fromEnv.value !== index) {
    throw new InputError('--shard i', index, `${fromEnv.value} (${fromEnv.name} is set) or leave i out: "/${count}"`);
  }
  return { index, count };
}

/**
 * The points a shard owns: the contiguous block [start, end) of `size` points, blocks
 * differing in length by at most one.
 *
 * @example
 * shardRange(10, { index: 0, count: 3 }) // => { start: 0, end: 4 }
 * shardRange(10, { index: 2, count: 3 }) // => { start: 7, end: 10 }
 */
export function shardRange(size: number, shard: Shard): { start: number; end: number } {
  checkInt('size', size, { min: 0, max: Number.MAX_SAFE_INTEGER });
  const count = checkInt('shard.count', shard.count, { min: 1, max: 1_000_000 });
  const index = checkInt('shard.index', shard.index, { min: 0, max: count - 1 });
  const base = Math.floor(size / count);
  const extra = size % count;
  const start = index * base + Math.min(index, extra);
  return { start, end: start + base + (index < extra ? 1 : 0) };
}
