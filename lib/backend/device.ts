import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { createRequire } from 'node:module';
import { activeBackend } from './registry.js';

/** The facts a measurement must carry about where it ran. */
export interface DeviceInfo {
  host: string;
  platform: string;
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  gpu?: { name: string; memoryBytes: number };
  backend: string;
  /** The device the backend computes on, e.g. "cpu: AMD EPYC 9B14 (2 cores)" or a GPU name. */
  device: string;
  versions: Record<string, string>;
}

const require = createRequire(import.meta.url);

function nvidiaGpu(): DeviceInfo['gpu'] {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    const [name, mib] = out.trim().split('\n')[0].split(',').map((s) => s.trim());
    return { name, memoryBytes: Number(mib) * 2 ** 20 };
  } catch {
    return undefined;
  }
}

function packageVersion(name: string): string | undefined {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * Host, CPU, GPU and software versions for provenance columns.
 *
 * @example
 * (await deviceInfo()).versions['tfjs-core'] // => '4.22.0'
 */
export async function deviceInfo(): Promise<DeviceInfo> {
  const b = await activeBackend();
  const cpus = os.cpus();
  const gpu = nvidiaGpu();
  const versions: Record<string, string> = { node: process.versions.node };
  // The tfjs namespace at run time (@tensorflow/tfjs or a tfjs-node package) carries every
  // tfjs package's version; tfjs-core's own declarations know only its version.
  const tfVersions = (b.tf as unknown as { version?: Record<string, string> }).version ?? { 'tfjs-core': b.tf.version_core };
  for (const [k, v] of Object.entries(tfVersions)) versions[k] = v;
  const tfBinding = (b.tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding?.TF_Version;
  if (b.tfjsBackend === 'tensorflow' && tfBinding) versions.tensorflow = tfBinding;
  const wasm = packageVersion('@tensorflow/tfjs-backend-wasm');
  if (wasm) versions['tfjs-backend-wasm'] = wasm;
  const batchlab = packageVersion('batchlab');
  if (batchlab) versions.batchlab = batchlab;
  const cpuModel = cpus[0]?.model?.trim() ?? 'unknown CPU';
  return {
    host: os.hostname(),
    platform: `${os.platform()}-${os.arch()}`,
    cpuModel,
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    gpu,
    backend: b.name,
    device: b.name === 'tensorflow-gpu' && gpu ? `gpu: ${gpu.name}` : `cpu: ${cpuModel} (${cpus.length} cores)`,
    versions,
  };
}
