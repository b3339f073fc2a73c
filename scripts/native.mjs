// The native TensorFlow binding of @tensorflow/tfjs-node-gpu, built from source against
// the C library inside a TensorFlow wheel from PyPI (never tfjs-node-gpu's own download).
// Shared by scripts/setup.mjs (a checkout) and `batchlab setup` (a project that installed
// the package); plain Node built-ins only, as it runs before anything else is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

/** The TensorFlow release whose wheel the binding is built against. */
export const TF_VERSION = process.env.BATCHLAB_TF_WHEEL_VERSION ?? '2.21.0';

/** `run` (throws on failure) and `check` (reports) for commands run in `root`. */
export function runner(root, say) {
  function run(cmd, argv, opts = {}) {
    say(`$ ${cmd} ${argv.join(' ')}`);
    const r = spawnSync(cmd, argv, { cwd: opts.cwd ?? root, stdio: opts.quiet ? 'pipe' : 'inherit', env: { ...process.env, ...opts.env }, encoding: 'utf8' });
    if (r.error) throw new Error(`${cmd} could not start: ${r.error.message}`);
    if (r.status !== 0) {
      if (opts.quiet) process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
      throw new Error(`${cmd} ${argv.join(' ')} exited with ${r.status}`);
    }
    return r;
  }
  function check(cmd, argv, opts = {}) {
    const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', env: { ...process.env, ...opts.env }, timeout: opts.timeout ?? 120_000 });
    return { ok: !r.error && r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
  }
  return { run, check };
}

// An NVIDIA GPU that nvidia-smi can see: its name, driver and the CUDA version the driver
// supports. BATCHLAB_GPU=off ignores it (CPU build on a GPU machine).
export function visibleGpu() {
  if (process.env.BATCHLAB_GPU === 'off') return undefined;
  const q = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8', timeout: 15_000 });
  if (q.error || q.status !== 0 || !q.stdout.trim()) return undefined;
  const [name, driver] = q.stdout.trim().split('\n')[0].split(',').map((x) => x.trim());
  const full = spawnSync('nvidia-smi', [], { encoding: 'utf8', timeout: 15_000 });
  const cuda = /CUDA Version:\s*([\d.]+)/.exec(full.stdout ?? '')?.[1];
  return { name, driver, cuda, count: q.stdout.trim().split('\n').length };
}
/**
 * What this machine would get: the GPU nvidia-smi sees, the wheel (the CUDA-enabled
 * "tensorflow" where a GPU is visible, "tensorflow-cpu" elsewhere), its version, and
 * whether the CUDA libraries of tensorflow[and-cuda] come from PyPI (BATCHLAB_CUDA_LIBS=on
 * fetches them anyway, about 3 GB; =off never).
 */
export function nativePlan() {
  const gpu = visibleGpu();
  const wheel = process.env.BATCHLAB_TF_WHEEL ?? (gpu ? 'tensorflow' : 'tensorflow-cpu');
  const cudaLibraries = wheel === 'tensorflow' && (process.env.BATCHLAB_CUDA_LIBS === 'on' || (gpu !== undefined && process.env.BATCHLAB_CUDA_LIBS !== 'off'));
  return { gpu: gpu ?? null, wheel, version: TF_VERSION, cudaLibraries };
}

/**
 * Builds (or checks) the binding of node_modules/@tensorflow/tfjs-node-gpu under `root`
 * against the TensorFlow wheel of `plan`, keeping the wheel and its unpacked library in
 * `cache` (the binding links to them there) and recording the result in
 * `cache`/native-tensorflow.json. Throws when a visible GPU would go unused.
 */
export function buildNativeBinding({ root, cache, plan, force = false, say }) {
  const { run, check } = runner(root, say);
  const { gpu: GPU, wheel: TF_WHEEL, version: TF_VERSION, cudaLibraries: WANT_CUDA_LIBS } = plan;
  const gpuUnusedMessage = (reason) => gpuUnused(plan, reason);
  const cudaLibraries = (tfWheel, wheelDir, unpacked) => downloadCudaLibraries(tfWheel, wheelDir, unpacked, run, say);
  const pkg = join(root, 'node_modules', '@tensorflow', 'tfjs-node-gpu');
  if (!existsSync(join(pkg, 'package.json'))) throw new Error(`@tensorflow/tfjs-node-gpu is not installed under ${root}/node_modules`);
  const probe = `const tf=require('@tensorflow/tfjs-node-gpu');const t=tf.matMul(tf.ones([2,2]),tf.ones([2,2]));if(t.dataSync()[0]!==2)process.exit(3);console.log(tf.getBackend())`;
  const record = join(cache, 'native-tensorflow.json');
  const built = existsSync(record) ? JSON.parse(readFileSync(record, 'utf8')) : undefined;
  if (!force && (!built || built.wheel === TF_WHEEL)) {
    const c = check('node', ['-e', probe]);
    if (c.ok && c.out.includes('tensorflow')) {
      if (GPU && built && !built.gpuUsed) throw new Error(gpuUnusedMessage(built.fallbackReason));
      return say(`binding is present and loads${built?.gpuUsed ? ` on ${GPU?.name}` : ''}`);
    }
  }
  const wheelDir = join(cache, 'wheels');
  mkdirSync(wheelDir, { recursive: true });
  const findWheel = () => readdirSync(wheelDir).find((f) => f.startsWith(`${TF_WHEEL.replace(/-/g, '_')}-${TF_VERSION}-`) && f.endsWith('.whl'));
  if (!findWheel()) {
    say(`downloading the ${TF_WHEEL}==${TF_VERSION} wheel (~250 MB) from PyPI`);
    run('python3', ['-m', 'pip', 'download', '--disable-pip-version-check', '--no-deps', '--only-binary=:all:', `${TF_WHEEL}==${TF_VERSION}`, '-d', wheelDir]);
  }
  const wheel = join(wheelDir, findWheel());
  const unpacked = join(cache, `${TF_WHEEL}-${TF_VERSION}`);
  const cudaLibs = WANT_CUDA_LIBS ? cudaLibraries(wheel, wheelDir, unpacked) : {};
  if (!existsSync(join(unpacked, 'tensorflow', 'libtensorflow_cc.so.2'))) {
    say(`unpacking libtensorflow and headers from ${relative(root, wheel)}`);
    rmSync(unpacked, { recursive: true, force: true });
    run('python3', ['-c', [
      'import sys, zipfile',
      'z = zipfile.ZipFile(sys.argv[1])',
      "names = [n for n in z.namelist() if n.startswith('tensorflow/include/') or n in ('tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2')]",
      'z.extractall(sys.argv[2], names)',
    ].join('\n'), wheel, unpacked]);
  }
  const deps = join(pkg, 'deps');
  rmSync(deps, { recursive: true, force: true });
  mkdirSync(join(deps, 'lib'), { recursive: true });
  const lib = (n) => join(unpacked, 'tensorflow', n);
  // The linker wants the unversioned names; the built binding asks for the .so.2
  // names at run time, through its rpath $ORIGIN/../../deps/lib.
  for (const [name, target] of [
    ['libtensorflow_cc.so.2', lib('libtensorflow_cc.so.2')],
    ['libtensorflow_framework.so.2', lib('libtensorflow_framework.so.2')],
    ['libtensorflow.so', lib('libtensorflow_cc.so.2')],
    ['libtensorflow_framework.so', lib('libtensorflow_framework.so.2')],
  ]) symlinkSync(target, join(deps, 'lib', name));
  symlinkSync(join(unpacked, 'tensorflow', 'include'), join(deps, 'include'), 'dir');
  const preGyp = createRequire(join(pkg, 'package.json')).resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp');
  // node-gyp would download Node's headers; the ones installed beside this node serve.
  const nodedir = process.env.npm_config_nodedir ?? resolve(dirname(process.execPath), '..');
  if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
    throw new Error(`Node's C headers are not at ${nodedir}/include/node (node-gyp cannot download them offline); install them (Debian: apt-get install libnode-dev, or the nodejs package from NodeSource) or set npm_config_nodedir`);
  }
  say('compiling the binding (about 30 s on 2 cores)');
  run('node', [preGyp, 'install', '--build-from-source', `--nodedir=${nodedir}`], { env: { npm_config_loglevel: 'warn' }, quiet: true, cwd: pkg });
  // TF_CPP_MIN_LOG_LEVEL=0: TensorFlow then says which devices it created and, when a GPU
  // library does not load, why; both decide whether the GPU is used.
  const c = check('node', ['-e', probe], { env: { TF_CPP_MIN_LOG_LEVEL: '0' } });
  if (!c.ok) throw new Error(`the native binding was built but does not load:\n${c.out}`);
  const gpuUsed = /device:GPU:\d/.test(c.out);
  const fallbackReason = gpuUsed
    ? undefined
    : c.out.split('\n').filter((l) => /dlopen|Cannot|GPU|CUDA|cuda|cuDNN|driver/.test(l)).map((l) => l.replace(/^.*\] /, '').trim()).slice(0, 4).join(' | ') ||
      (TF_WHEEL === 'tensorflow-cpu' ? 'built against the CPU-only wheel' : 'no GPU device created');
  const doc = {
    wheel: TF_WHEEL, version: TF_VERSION, date: new Date().toISOString().slice(0, 10),
    gpu: GPU ?? null, driver: GPU?.driver ?? null, cudaDriverApi: GPU?.cuda ?? null,
    cuda: cudaLibs.cuda ?? null, cudnn: cudaLibs.cudnn ?? null, gpuUsed, fallbackReason: fallbackReason ?? null,
  };
  writeFileSync(record, `${JSON.stringify(doc, null, 2)}\n`);
  if (GPU && !gpuUsed) throw new Error(gpuUnusedMessage(fallbackReason));
  say(`binding loads; backend = ${c.out.split('\n').find((l) => /^(tensorflow|cpu|wasm)$/.test(l.trim())) ?? '?'}${gpuUsed ? `, on ${GPU?.name ?? 'a GPU'}` : TF_WHEEL === 'tensorflow' ? `; no GPU used, falls back to the CPU: ${fallbackReason}` : ''}`);
}

function gpuUnused({ gpu: GPU, wheel: TF_WHEEL, version: TF_VERSION }, reason) {
  return (
    `nvidia-smi sees ${GPU.count}x ${GPU.name} (driver ${GPU.driver}, CUDA ${GPU.cuda}), but native TensorFlow (${TF_WHEEL} ${TF_VERSION}) does not use it: ${reason}. ` +
    'Every measurement would silently run on the CPU. Fix the CUDA libraries (BATCHLAB_CUDA_LIBS=on node scripts/setup.mjs --force-native), ' +
    'or build for the CPU on purpose with BATCHLAB_GPU=off node scripts/setup.mjs --force-native (in a project that installed batchlab: npx batchlab setup --force, with the same variables).'
  );
}

// The CUDA libraries of tensorflow[and-cuda], from PyPI: the nvidia-* wheels its metadata
// names for the "and-cuda" extra, unpacked beside tensorflow/ so that the RUNPATH the
// wheel's libraries carry ($ORIGIN/../nvidia/<lib>/lib) finds them without LD_LIBRARY_PATH.
function downloadCudaLibraries(tfWheel, wheelDir, unpacked, run, say) {
  const meta = spawnSync('python3', ['-c', [
    'import sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    "name = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))",
    'print(z.read(name).decode())',
  ].join('\n'), tfWheel], { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 });
  const reqs = [...(meta.stdout ?? '').matchAll(/^Requires-Dist: (nvidia-[a-z0-9-]+)([^;]*);.*extra == "and-cuda"/gm)].map((m) => `${m[1]}${m[2].replace(/[()\s]/g, '')}`);
  if (!reqs.length) throw new Error(`${tfWheel} names no CUDA libraries for the "and-cuda" extra`);
  say(`downloading the CUDA libraries of tensorflow[and-cuda] from PyPI: ${reqs.join(', ')}`);
  run('python3', ['-m', 'pip', 'download', '--disable-pip-version-check', '--no-deps', '--only-binary=:all:', '-d', wheelDir, ...reqs]);
  const versions = {};
  for (const f of readdirSync(wheelDir).filter((x) => x.startsWith('nvidia_') && x.endsWith('.whl'))) {
    const [dist, version] = f.split('-');
    if (dist === 'nvidia_cuda_runtime_cu12' || dist === 'nvidia_cuda_runtime') versions.cuda = version;
    if (dist.startsWith('nvidia_cudnn')) versions.cudnn = version;
    run('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith("nvidia/")])', join(wheelDir, f), unpacked], { quiet: true });
  }
  return versions;
}

