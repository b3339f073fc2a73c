// The outside client of the benchmarks: bench/outside_load.py (the official openai Python
// package from the project's venv) sends a plan drawn by planLoad; its records are
// summarised by summariseLoad, the same metrics as batchlab's own client.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { planLoad, summariseLoad } from '../lib/server/load.js';
import type { LoadRequestRecord, LoadResult, LoadWorkload } from '../lib/server/load.js';
import { batchlabRoot } from '../lib/util/package-root.js';

const python = join(batchlabRoot(), '.venv', 'bin', 'python');

/** Whether the venv has the openai package (node scripts/setup.mjs installs it). */
export function outsideClientAvailable(): boolean {
  return existsSync(python);
}

/** Runs one load with the Python openai client and summarises it. */
export async function runOutsideLoad(url: string, workload: LoadWorkload, seed: number, timeoutMs = 900_000): Promise<LoadResult> {
  const plan = planLoad(workload, seed);
  const child = spawn(python, [join(batchlabRoot(), 'bench', 'outside_load.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  child.stdin.end(JSON.stringify({ url, loop: plan.loop, clients: plan.clients, requests: plan.requests }));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`the outside client failed (exit ${code}): ${err.slice(-2000)}`);
  const raw = JSON.parse(out) as { monotonicStart: number; cpuSeconds: number; records: Array<{ index: number; send: number; tokenTimes: number[]; tokens: number[]; finish: number; status: number; error?: string; id?: string }> };
  const records: LoadRequestRecord[] = raw.records.map((r) => ({ ...r, promptTokens: plan.requests[r.index].prompt.length, outputTokens: plan.requests[r.index].maxTokens }));
  const nominal = workload.arrivals.kind === 'poisson' || workload.arrivals.kind === 'gamma' ? workload.arrivals.ratePerSecond : null;
  return summariseLoad(records, { url, workload: `${plan.description} (openai Python client)`, seed }, { nominalRatePerSecond: nominal, monotonicStart: raw.monotonicStart, clientCpuSeconds: raw.cpuSeconds });
}
