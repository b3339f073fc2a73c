import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { batchlabRoot } from './package-root.js';

/**
 * The hardware facts that identify a machine for measurements. Host names do not: many
 * machines share one (every cloud VM may be called "vm"), and one machine can be renamed.
 */
export interface MachineFacts {
  cpuModel: string;
  /** Logical CPUs the OS reports. */
  cores: number;
  /** Total memory rounded to whole GiB: the kernel's reservations vary a little from boot to boot. */
  memoryGib: number;
  /** Accelerator name ("NVIDIA H200"), or "none". */
  accelerator: string;
}

/** The software a measurement ran on, part of its fingerprint. */
export interface SoftwareFacts {
  backend: string;
  versions: Record<string, string>;
}

// The versions that change what a GEMM costs; node, batchlab and the like do not.
const KEY_VERSIONS = ['tfjs-core', 'tensorflow', 'tensorflow-wheel', 'tfjs-backend-wasm', 'cuda', 'cudnn', 'driver'] as const;

let cachedAccelerator: string | undefined;

function acceleratorName(): string {
  if (cachedAccelerator !== undefined) return cachedAccelerator;
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    const names = out.trim().split('\n').map((s) => s.trim()).filter(Boolean);
    cachedAccelerator = names.length ? `${names.length}x ${names[0]}` : 'none';
  } catch {
    cachedAccelerator = 'none';
  }
  return cachedAccelerator;
}

/**
 * This machine's hardware facts (synchronous: os and, when present, nvidia-smi).
 *
 * @example
 * thisMachineFacts().cores // => 2
 */
export function thisMachineFacts(): MachineFacts {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model?.trim().replace(/\s+/g, ' ') || 'unknown CPU',
    cores: cpus.length,
    memoryGib: Math.round(os.totalmem() / 2 ** 30),
    accelerator: acceleratorName(),
  };
}

function slug(s: string): string {
  return s.toLowerCase().replace(/\(r\)|\(tm\)|cpu|processor|@.*$/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 24) || 'cpu';
}

/**
 * A stable id for a machine's hardware: a readable prefix (CPU, cores, memory) and a
 * hash of every fact, e.g. "amd-epyc-9b14-2c-8g-3f09a1c2". Equal facts give the same
 * id on any host name; any different fact gives another.
 *
 * @example
 * machineId({ cpuModel: 'AMD EPYC 9B14', cores: 2, memoryGib: 8, accelerator: 'none' }) // => 'amd-epyc-9b14-2c-8g-…'
 */
export function machineId(f: MachineFacts): string {
  const h = createHash('sha256').update(JSON.stringify([f.cpuModel, f.cores, f.memoryGib, f.accelerator])).digest('hex').slice(0, 8);
  const acc = f.accelerator === 'none' ? '' : `-${slug(f.accelerator.replace(/^\d+x /, ''))}`;
  return `${slug(f.cpuModel)}-${f.cores}c-${f.memoryGib}g${acc}-${h}`;
}

/**
 * The fingerprint that keys a measurement or a fit: the machine id plus a hash of the
 * backend and the versions that change a GEMM's cost, so results of another machine,
 * backend or TensorFlow build never stand in for this one's.
 *
 * @example
 * machineFingerprint(thisMachineFacts(), { backend: 'tensorflow', versions: { 'tfjs-core': '4.22.0' } }).machine
 */
export function machineFingerprint(f: MachineFacts, s: SoftwareFacts): { machine: string; fingerprint: string; facts: MachineFacts; backend: string; versions: Record<string, string> } {
  const versions: Record<string, string> = {};
  for (const k of KEY_VERSIONS) if (s.versions[k] !== undefined) versions[k] = s.versions[k];
  const machine = machineId(f);
  const h = createHash('sha256').update(JSON.stringify([machine, s.backend, versions])).digest('hex').slice(0, 8);
  return { machine, fingerprint: `${machine}-${h}`, facts: { ...f }, backend: s.backend, versions };
}

/**
 * The native TensorFlow stack scripts/setup.mjs built: the wheel the binding links
 * against and, on a GPU machine, the NVIDIA driver, the CUDA runtime and cuDNN versions
 * (from .cache/native-tensorflow.json). Empty when set-up has not built the binding.
 *
 * @example
 * nativeStackVersions() // => { 'tensorflow-wheel': 'tensorflow-cpu 2.21.0' } on a CPU machine
 */
export function nativeStackVersions(): Record<string, string> {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(readFileSync(join(batchlabRoot(), '.cache', 'native-tensorflow.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  if (typeof doc.wheel === 'string' && typeof doc.version === 'string') out['tensorflow-wheel'] = `${doc.wheel} ${doc.version}`;
  for (const [k, key] of [['driver', 'driver'], ['cuda', 'cuda'], ['cudnn', 'cudnn'], ['cudaDriverApi', 'cuda-driver-api']] as const) {
    if (typeof doc[k] === 'string' && doc[k] !== '') out[key] = doc[k] as string;
  }
  if (typeof doc.gpuUsed === 'boolean') out['gpu-used'] = String(doc.gpuUsed);
  return out;
}
