import type { Command } from 'commander';
import type { CliIo } from './context.js';
import { wantsJson } from './context.js';
import { listHardware } from '../../lib/hardware/spec.js';
import { defaultKernelDb } from '../../lib/kernels/load.js';
import { kernelFrameworksOf, kernelTablesOf } from '../../lib/kernels/pricer.js';
import { DEFAULT_SERVING_ENGINE } from '../../lib/batching/engines.js';
import { listModelIds, loadModel } from '../../lib/models/spec.js';
import { kvBytesPerToken, paramCounts } from '../../lib/models/params.js';
import { listLocalSetups } from '../../lib/deployment/local.js';
import { formatUsd } from '../../lib/util/money.js';
import { checkOneOf } from '../../lib/util/validate.js';

const WHAT = ['models', 'hardware', 'setups'] as const;
type What = (typeof WHAT)[number];

type Row = Record<string, string | number | boolean | null | string[]>;

const sig = (x: number, digits = 3): string => Number(x.toPrecision(digits)).toLocaleString('en-US');

function modelRows(): { rows: Row[]; columns: Array<[string, string]> } {
  const rows = listModelIds().map((id) => {
    const m = loadModel(id);
    const p = paramCounts(m);
    return {
      id,
      architecture: m.architecture,
      totalParams: p.total,
      activeParams: p.active,
      layers: m.numLayers,
      attention: m.attention.kind,
      kvBytesPerTokenBf16: kvBytesPerToken(m, 'bf16'),
      experts: m.moe ? m.moe.numExperts : null,
    };
  });
  return {
    rows,
    columns: [
      ['id', 'id'],
      ['architecture', 'architecture'],
      ['totalParams', 'parameters (B)'],
      ['activeParams', 'active (B)'],
      ['layers', 'layers'],
      ['attention', 'attention'],
      ['kvBytesPerTokenBf16', 'KV per token, bf16 (KB)'],
      ['experts', 'experts'],
    ],
  };
}

function hardwareRows(): { rows: Row[]; columns: Array<[string, string]> } {
  const db = defaultKernelDb();
  const rows = listHardware().map((h) => ({
    id: h.id,
    name: h.name,
    bf16PeakFlops: h.peakFlops.bf16 ?? null,
    memoryBytes: h.memoryCapacityBytes,
    memoryBytesPerSecond: h.memoryBytesPerSecond,
    hourlyPriceUsd: h.hourlyPriceUsd,
    calibrated: h.calibration !== undefined,
    // Which frameworks' measured tables data/kernels holds for the device (deploy, search and
    // simulate read the default engine's where held, else the performance model prices it);
    // a device that borrows another's compute tables names that device.
    kernelTables: kernelFrameworksOf(db, h),
    kernelTablesBorrowedFrom: kernelTablesOf(h, db).donor ?? null,
  }));
  return {
    rows,
    columns: [
      ['id', 'id'],
      ['name', 'name'],
      ['bf16PeakFlops', 'bf16 peak (TFLOP/s)'],
      ['memoryBytes', 'memory (GB)'],
      ['memoryBytesPerSecond', 'bandwidth (TB/s)'],
      ['hourlyPriceUsd', 'price per hour'],
      ['calibrated', 'calibration'],
      ['kernelTables', `kernel tables held (${DEFAULT_SERVING_ENGINE}'s price by default)`],
    ],
  };
}

function setupRows(): { rows: Row[]; columns: Array<[string, string]> } {
  const rows = listLocalSetups().map((s) => ({ id: s.id, name: s.name, device: s.device.id, devices: s.devices, hourlyCostUsd: s.hourlyCostUsd }));
  return {
    rows,
    columns: [
      ['id', 'id'],
      ['name', 'name'],
      ['device', 'device'],
      ['devices', 'devices'],
      ['hourlyCostUsd', 'cost per hour'],
    ],
  };
}

/** A cell as a person reads it: units in the header, so numbers are scaled here. */
function cell(key: string, v: Row[string], row: Row): string {
  if (v === null) return '-';
  if (Array.isArray(v)) return v.length === 0 ? '-' : `${v.join(', ')}${key === 'kernelTables' && row.kernelTablesBorrowedFrom ? ` (${row.kernelTablesBorrowedFrom}'s for compute)` : ''}`;
  if (typeof v === 'boolean') return key === 'calibrated' ? (v ? 'sourced' : 'datasheet only') : v ? 'yes' : 'no';
  if (typeof v === 'string') return v;
  switch (key) {
    case 'totalParams':
    case 'activeParams':
      return sig(v / 1e9);
    case 'kvBytesPerTokenBf16':
      return sig(v / 1e3);
    case 'bf16PeakFlops':
      return sig(v / 1e12, 4);
    case 'memoryBytes':
      return sig(v / 1e9);
    case 'memoryBytesPerSecond':
      return sig(v / 1e12);
    case 'hourlyPriceUsd':
    case 'hourlyCostUsd':
      return formatUsd(v);
    default:
      return v.toLocaleString('en-US');
  }
}

/**
 * The rows of `batchlab list <what>` as plain values (the --json output) and as the
 * lines of a text table with units in its headers.
 *
 * @example
 * listing('hardware').lines[0] // => 'id  name  bf16 peak (TFLOP/s) ...'
 */
export function listing(what: What): { rows: Row[]; lines: string[] } {
  const { rows, columns } = what === 'models' ? modelRows() : what === 'hardware' ? hardwareRows() : setupRows();
  const table = [columns.map(([, h]) => h), ...rows.map((r) => columns.map(([k]) => cell(k, r[k], r)))];
  const widths = columns.map((_, c) => Math.max(...table.map((r) => r[c].length)));
  const numeric = columns.map(([k]) => rows.some((r) => typeof r[k] === 'number'));
  const lines = table.map((r) => r.map((v, c) => (numeric[c] ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ').trimEnd());
  return { rows, lines };
}

/** `batchlab list models|hardware|setups`: the catalog as a table, or JSON with --json. */
export function register(program: Command, io: CliIo): void {
  program
    .command('list')
    .description('list the catalog: models (data/models), hardware (data/hardware) or setups, the local setups (data/deployment)')
    .argument('<what>', WHAT.join(', '))
    .addHelpText('after', '\nYour own files work wherever a catalog id does: --model takes an HF config.json (or its folder), --hardware a JSON file shaped like data/hardware/*.json.')
    .exitOverride()
    .action((what: string, _o: unknown, cmd: Command) => {
      const w = checkOneOf('<what>', what, WHAT) as What;
      const { rows, lines } = listing(w);
      if (wantsJson(cmd)) io.out(JSON.stringify(rows, null, 2));
      else for (const l of lines) io.out(l);
    });
}
