import cliProgress from 'cli-progress';
import type { HardwareSpec } from '../../lib/hardware/spec.js';
import { hardwareWithPrice, listHardware, resolveHardware } from '../../lib/hardware/spec.js';
import type { ModelSpec } from '../../lib/models/spec.js';
import { resolveModel } from '../../lib/models/spec.js';
import { asFlags, decimalInRange } from './context.js';
import type { CliIo } from './context.js';
import { InputError } from '../../lib/util/errors.js';

/** Help text of every --model flag. */
export const MODEL_FLAG_HELP = 'catalog id (batchlab list models), or an HF config.json or a folder holding one';
/** Help text of every --hardware flag. */
export const HARDWARE_FLAG_HELP = 'catalog id (batchlab list hardware), this-machine, or a JSON file shaped like data/hardware/*.json';
/** Help text of every --usd-per-hour flag. */
export const PRICE_FLAG_HELP = 'price of one device-hour in USD, replacing the hardware entry\'s assumed price';

/**
 * The model a `--model` flag names: a catalog id or the user's config.json (file or folder).
 *
 * @example
 * modelFlag('./qwen2.5-7b').architecture // => 'qwen2'
 */
export function modelFlag(raw: string, flag = '--model'): ModelSpec {
  return asFlags(() => resolveModel(raw, flag), { 'model id': flag });
}

/**
 * The hardware a `--hardware` flag names (catalog id, this-machine or a file), with its
 * hourly price replaced when `--usd-per-hour` is given.
 *
 * @example
 * hardwareFlag('h100-sxm', '2.5').hourlyPriceUsd // => 2.5
 */
export function hardwareFlag(raw: string, usdPerHour?: string, flag = '--hardware'): HardwareSpec {
  const hw = asFlags(() => resolveHardware(raw, flag), { 'hardware id': flag });
  if (usdPerHour === undefined) return hw;
  return hardwareWithPrice(hw, decimalInRange('--usd-per-hour', usdPerHour, { min: 0, max: 1e6 }), '--usd-per-hour');
}

/** Where the hourly price comes from, for the line that prints it. */
export function priceSource(hw: HardwareSpec): string {
  const s = hw.sources.hourlyPriceUsd;
  if (!s) return 'no source';
  if (s.source === 'given by the user') return `given with ${s.notes ?? 'a flag'}`;
  // A catalog entry's price is the catalog's assumption; a file's or this machine's is its own.
  const catalog = listHardware().find((h) => h.id === hw.id);
  if (catalog && catalog.sources.hourlyPriceUsd?.source === s.source && catalog.hourlyPriceUsd === hw.hourlyPriceUsd) return 'the catalog\'s assumed price';
  if (hw.hourlyPriceUsd === 0) return s.notes ?? s.source;
  return `the hardware file's price: ${s.source}`;
}

/** The lines that say what the step cost leaves out for a model (empty when nothing). */
export function modelNoteLines(model: ModelSpec, indent = '  '): string[] {
  return (model.notes ?? []).map((n) => `${indent}note: ${n}`);
}

export { countOf, fmtFigure } from '../../lib/util/words.js';

/**
 * Refuses a list flag that holds one entry twice (each entry is one run or point, and a
 * repeat would run it twice and count it twice), naming the flag and the repeat's index.
 *
 * @example
 * refuseRepeated('--m', [1, 2, 1], (m) => m, 'a value the list does not already hold (each is one point)') // throws "--m[2] must be a value ...; got 1"
 */
export function refuseRepeated<T>(flag: string, items: readonly T[], key: (x: T) => string | number, allowed: string, shown: (x: T) => unknown = (x) => x): void {
  const keys = items.map(key);
  const at = keys.findIndex((k, i) => keys.indexOf(k) !== i);
  if (at >= 0) throw new InputError(`${flag}[${at}]`, shown(items[at]), allowed);
}

export { checkModelContext } from '../../lib/models/spec.js';

/**
 * A progress bar on stderr for work that may take long: it appears only on a terminal
 * (or when io.progress says so) and only once the work has run for `afterMs` (2 s), so
 * quick runs and piped output stay clean.
 *
 * @example
 * const p = progressBar(io, 'search'); p.update(3, 10); p.stop();
 */
export function progressBar(io: CliIo, label: string, afterMs = 2000): { update: (done: number, total: number) => void; stop: () => void } {
  const show = io.progress ?? Boolean(process.stderr.isTTY);
  const t0 = Date.now();
  let bar: cliProgress.SingleBar | undefined;
  return {
    update(done, total) {
      if (!show) return;
      if (!bar) {
        if (Date.now() - t0 < afterMs || done >= total) return;
        // Whether to draw is decided above (io.progress or a terminal), so cli-progress draws on any stream.
        bar = new cliProgress.SingleBar({ format: `${label} {bar} {value}/{total}`, stream: process.stderr, hideCursor: true, noTTYOutput: true }, cliProgress.Presets.shades_classic);
        bar.start(total, done);
      }
      bar.update(done);
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
