import { createRequire } from 'node:module';

/**
 * The compute backends batchlab knows, best first. `tensorflow-gpu` and `tensorflow`
 * are the same tfjs backend ("tensorflow", the native binding of tfjs-node-gpu) on a
 * CUDA device or on the CPU; `wasm` and `cpu` are tfjs's portable backends.
 */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
/** The compute backends batchlab knows, best first: the order `selectBackend('auto')` tries them in. */
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** What `detectBackends` found for one backend. */
export interface BackendStatus {
  name: BackendName;
  available: boolean;
  /** Why it is or is not available, in one line. */
  reason: string;
  /** The tfjs backend name it runs on ("tensorflow", "wasm", "cpu"). */
  tfjsBackend: string;
}

// The tfjs namespace is loaded lazily: importing batchlab for its pure models must
// not load a native library, and one process holds exactly one tfjs engine.
// Types come from tfjs-core alone: @tensorflow/tfjs's declarations reach tfjs-layers',
// which fail a consumer's `skipLibCheck: false` build. The chained-op declarations
// (tensor.reshape(…)), which @tensorflow/tfjs pulls in, are named here for batchlab's own code.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
type Tf = typeof import('@tensorflow/tfjs-core');
const require = createRequire(import.meta.url);

/**
 * Package that provides the native binding; overridable to test the fallback path.
 *
 * @example
 * nativePackageName() // => '@tensorflow/tfjs-node-gpu' (BATCHLAB_NATIVE_PACKAGE overrides it)
 */
export function nativePackageName(): string {
  return process.env.BATCHLAB_NATIVE_PACKAGE ?? '@tensorflow/tfjs-node-gpu';
}

interface NativeState {
  tf?: Tf;
  error?: string;
  usingGpu?: boolean;
  tfVersion?: string;
}
let native: NativeState | undefined;
let wasmLoaded: string | undefined;

function loadNative(): NativeState {
  if (native) return native;
  if (process.env.BATCHLAB_NATIVE === 'off') return (native = { error: 'disabled by BATCHLAB_NATIVE=off' });
  // TensorFlow's C++ logging would otherwise print CPU-feature notices into every notebook.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  // TensorFlow turns its oneDNN kernels on by default only on CPUs with AVX-512/AMX
  // extensions; elsewhere (e.g. AVX2 EPYC) its Eigen fallback reaches about half the
  // fp32 matmul throughput at M >= 1024 (lib/gemm, bench/gemm-vs-reference.ts).
  process.env.TF_ENABLE_ONEDNN_OPTS ??= '1';
  try {
    const tf = require(nativePackageName()) as Tf;
    const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean; binding?: { TF_Version?: string } };
    native = { tf, usingGpu: Boolean(backend.isUsingGpuDevice), tfVersion: backend.binding?.TF_Version };
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0];
    native = { error: `${nativePackageName()} did not load: ${msg}. Run \`npx batchlab setup\` (in a checkout, \`node scripts/setup.mjs\`) to install and build the optional native binding (environment.md)` };
  }
  return native;
}

/**
 * The tfjs namespace of this process: the native package when it loaded, else @tensorflow/tfjs.
 *
 * @example
 * tfjs().matMul(tfjs().ones([2, 3]), tfjs().ones([3, 4])).shape // => [2, 4]
 */
export function tfjs(): Tf {
  const n = loadNative();
  return n.tf ?? (require('@tensorflow/tfjs') as Tf);
}

async function loadWasm(): Promise<string | undefined> {
  if (wasmLoaded !== undefined) return wasmLoaded || undefined;
  try {
    tfjs();
    require('@tensorflow/tfjs-backend-wasm');
    wasmLoaded = '';
    return undefined;
  } catch (err) {
    wasmLoaded = (err as Error).message.split('\n')[0];
    return wasmLoaded;
  }
}

/**
 * Says, for every backend, whether it can run here and why (not).
 *
 * @example
 * (await detectBackends()).map((b) => `${b.name}: ${b.available}`)
 * // => ['tensorflow-gpu: false', 'tensorflow: true', 'wasm: true', 'cpu: true']
 */
export async function detectBackends(): Promise<BackendStatus[]> {
  const n = loadNative();
  const wasmError = await loadWasm();
  const tf = tfjs();
  const registered = new Set(Object.keys((tf.engine() as unknown as { registryFactory: object }).registryFactory));
  const nativeOk = Boolean(n.tf) && registered.has('tensorflow');
  return [
    {
      name: 'tensorflow-gpu',
      tfjsBackend: 'tensorflow',
      available: nativeOk && Boolean(n.usingGpu),
      reason: !nativeOk
        ? n.error ?? 'native backend not registered'
        : n.usingGpu
          ? `TensorFlow ${n.tfVersion} sees a CUDA device`
          : `TensorFlow ${n.tfVersion} was built without CUDA or sees no GPU (the binding was built against a CPU wheel; environment.md explains the GPU build)`,
    },
    {
      name: 'tensorflow',
      tfjsBackend: 'tensorflow',
      available: nativeOk,
      reason: nativeOk ? `native TensorFlow ${n.tfVersion} through ${nativePackageName()}` : n.error ?? 'native backend not registered',
    },
    {
      name: 'wasm',
      tfjsBackend: 'wasm',
      available: !wasmError && registered.has('wasm'),
      reason: wasmError ? `@tensorflow/tfjs-backend-wasm did not load: ${wasmError}` : 'WebAssembly (XNNPACK) backend',
    },
    { name: 'cpu', tfjsBackend: 'cpu', available: registered.has('cpu'), reason: 'pure-JavaScript reference backend (slow)' },
  ];
}

/** The backend chosen by `selectBackend`, with the reason printed for it. */
export interface SelectedBackend {
  name: BackendName;
  tfjsBackend: string;
  reason: string;
  tf: Tf;
}

let current: SelectedBackend | undefined;

/**
 * Activates a backend. With 'auto' (the default, or BATCHLAB_BACKEND) the best
 * available one wins and the reason for passing over better ones is printed; a named
 * backend that is unavailable is an error saying why.
 *
 * @example
 * const { name, tf } = await selectBackend(); // 'tensorflow' on a CPU machine with the native build
 */
export async function selectBackend(
  prefer: BackendName | 'auto' = (process.env.BATCHLAB_BACKEND as BackendName | 'auto' | undefined) ?? 'auto',
  opts: { log?: (line: string) => void } = {},
): Promise<SelectedBackend> {
  const log = opts.log ?? ((line: string) => console.log(line));
  if (prefer !== 'auto' && !BACKEND_NAMES.includes(prefer)) {
    throw new Error(`backend must be one of auto, ${BACKEND_NAMES.join(', ')}; got ${JSON.stringify(prefer)}`);
  }
  const statuses = await detectBackends();
  let chosen: BackendStatus | undefined;
  if (prefer === 'auto') {
    chosen = statuses.find((s) => s.available);
    const passed = statuses.slice(0, chosen ? statuses.indexOf(chosen) : statuses.length);
    for (const s of passed) log(`batchlab: backend ${s.name} unavailable: ${s.reason}`);
    if (chosen && chosen.name !== 'tensorflow-gpu' && chosen.name !== 'tensorflow') {
      log(`batchlab: falling back to ${chosen.name}: the native TensorFlow backend could not be used`);
    }
  } else {
    chosen = statuses.find((s) => s.name === prefer);
    if (!chosen?.available) throw new Error(`backend ${prefer} is not available: ${chosen?.reason}`);
  }
  if (!chosen) throw new Error('no tfjs backend is available');
  const tf = tfjs();
  const ok = await tf.setBackend(chosen.tfjsBackend);
  if (!ok) throw new Error(`tfjs could not initialise backend ${chosen.tfjsBackend}`);
  await tf.ready();
  current = { name: chosen.name, tfjsBackend: chosen.tfjsBackend, reason: chosen.reason, tf };
  log(`batchlab: using backend ${chosen.name} (${chosen.reason})`);
  return current;
}

/**
 * The active backend, selecting the best one on first use.
 *
 * @example
 * const { name, tf } = await activeBackend(); // name => e.g. 'tensorflow'
 */
export async function activeBackend(): Promise<SelectedBackend> {
  return current ?? selectBackend('auto', { log: () => {} });
}
