#!/usr/bin/env node
// One idempotent set-up for a fresh machine, run by `npm run report`, `npm test`,
// `npm run lab` and `npm run bench`. Each step checks its own result first and
// does nothing when it is already in place, so a second run takes seconds.
//
//   node scripts/setup.mjs [--browser] [--force-native]
//
// Steps: npm dependencies -> self link (import "batchlab" by name) -> Python venv
// (JupyterLab, nbconvert, nbclient, numpy) -> tslab kernel -> native TensorFlow
// binding built from the tensorflow-cpu wheel -> (with --browser) Chromium.
// Uses only Node built-ins: it runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, lstatSync, readFileSync, statSync, writeFileSync, readlinkSync } from 'node:fs';
import { dirname, join, resolve, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const cache = join(root, '.cache');
const venv = join(root, '.venv');
const venvPython = join(venv, 'bin', 'python');
const TF_VERSION = process.env.BATCHLAB_TF_WHEEL_VERSION ?? '2.21.0';

// An NVIDIA GPU that nvidia-smi can see: its name, driver and the CUDA version the driver
// supports. BATCHLAB_GPU=off ignores it (CPU build on a GPU machine).
function visibleGpu() {
  if (process.env.BATCHLAB_GPU === 'off') return undefined;
  const q = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8', timeout: 15_000 });
  if (q.error || q.status !== 0 || !q.stdout.trim()) return undefined;
  const [name, driver] = q.stdout.trim().split('\n')[0].split(',').map((x) => x.trim());
  const full = spawnSync('nvidia-smi', [], { encoding: 'utf8', timeout: 15_000 });
  const cuda = /CUDA Version:\s*([\d.]+)/.exec(full.stdout ?? '')?.[1];
  return { name, driver, cuda, count: q.stdout.trim().split('\n').length };
}
const GPU = visibleGpu();
// The CUDA-enabled wheel ("tensorflow") where a GPU is visible, the CPU wheel elsewhere.
const TF_WHEEL = process.env.BATCHLAB_TF_WHEEL ?? (GPU ? 'tensorflow' : 'tensorflow-cpu');
// CUDA libraries come from PyPI (the nvidia-* wheels of tensorflow[and-cuda]) when a GPU is
// visible; BATCHLAB_CUDA_LIBS=on fetches them anyway (about 3 GB), =off never.
const WANT_CUDA_LIBS = TF_WHEEL === 'tensorflow' && (process.env.BATCHLAB_CUDA_LIBS === 'on' || (GPU !== undefined && process.env.BATCHLAB_CUDA_LIBS !== 'off'));
// plotly brings the jupyterlab-plotly renderer, so figures render inside JupyterLab too.
// openai: the official Python client, an outside client for the server's end-to-end tests.
const PY_PACKAGES = ['jupyterlab>=4.2,<5', 'nbconvert>=7.16,<8', 'nbclient>=0.10,<1', 'ipykernel>=6.29,<8', 'numpy>=1.26,<3', 'plotly>=5.24,<8', 'threadpoolctl>=3.5,<4', 'openai>=1.40,<3'];

// --plan: print what this machine would get (GPU seen, wheel, CUDA libraries) and stop,
// so the GPU route can be checked on a machine without a GPU (test/e2e/setup-gpu.test.ts).
if (args.has('--plan')) {
  console.log(JSON.stringify({ gpu: GPU ?? null, wheel: TF_WHEEL, version: TF_VERSION, cudaLibraries: WANT_CUDA_LIBS }));
  process.exit(0);
}

let step = 0;
const t0 = Date.now();
function say(msg) {
  process.stderr.write(`[setup ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}\n`);
}
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
function begin(title) {
  step += 1;
  say(`step ${step}: ${title}`);
}

// 1. npm dependencies, with install scripts off: tfjs-node-gpu's script would
// download libtensorflow, which fails offline; the native binding is built in step 5.
function npmDependencies() {
  begin('npm dependencies');
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  const fresh = existsSync(marker) && existsSync(lock) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs;
  if (fresh) return say('node_modules is up to date with package-lock.json');
  run('npm', [existsSync(lock) ? 'ci' : 'install', '--ignore-scripts', '--no-audit', '--no-fund']);
}

// 2. tslab compiles each notebook with the notebook's folder as rootDir, so a notebook
// imports the built library by package name; this link makes "batchlab" resolve
// (for TypeScript's node10 resolution too) from anywhere inside the project.
function selfLink() {
  begin('link node_modules/batchlab -> project root');
  const link = join(root, 'node_modules', 'batchlab');
  if (existsSync(link) && lstatSync(link).isSymbolicLink() && resolve(dirname(link), readlinkSync(link)) === root) return say('already linked');
  rmSync(link, { recursive: true, force: true });
  symlinkSync(relative(dirname(link), root) || '..', link, 'dir');
  say('linked');
}

// 3. Python side: a project-local venv, so nothing touches the system Python.
function pythonVenv() {
  begin('Python venv (.venv) with JupyterLab, nbconvert, nbclient, numpy');
  const stamp = join(venv, '.batchlab-packages');
  const want = PY_PACKAGES.join('\n');
  if (!(existsSync(venvPython) && existsSync(stamp) && readFileSync(stamp, 'utf8') === want)) {
    if (!existsSync(venvPython)) run('python3', ['-m', 'venv', venv]);
    run(venvPython, ['-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'on', ...PY_PACKAGES]);
    writeFileSync(stamp, want);
  } else say('venv is ready');
  // The venv sits inside this "type": "module" package, so Node would read the CommonJS
  // .js files that Python packages ship (jupyter_builder's yarn.js, run by JupyterLab at
  // start-up) as ES modules and fail loudly; a package.json at the venv root says CommonJS.
  const marker = join(venv, 'package.json');
  const body = `${JSON.stringify({ type: 'commonjs', private: true, description: 'batchlab: the Python venv is not an ES module package' }, null, 2)}\n`;
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== body) {
    writeFileSync(marker, body);
    say('venv/package.json marks its .js files as CommonJS (quiet JupyterLab start-up)');
  }
}

// 4. The TypeScript kernel, registered into the venv only (--sys-prefix).
function tslabKernel() {
  begin('tslab kernel in the venv');
  const spec = join(venv, 'share', 'jupyter', 'kernels', 'tslab', 'kernel.json');
  const tslabBin = join(root, 'node_modules', '.bin', 'tslab');
  const argv = existsSync(spec) ? (JSON.parse(readFileSync(spec, 'utf8')).argv ?? []) : [];
  if (argv.some((a) => String(a).includes(root))) say('kernel "tslab" is registered');
  // --binary points the kernel at this project's tslab, whatever is on PATH.
  else run(tslabBin, ['install', `--python=${venvPython}`, '--sys-prefix', `--binary=${tslabBin}`]);
  preferTslab();
}

// tslab also registers a JavaScript kernel ("jslab"); JupyterLab's kernel dialog (Run All
// while a kernel starts, a new notebook) would offer it first. batchlab's notebooks are
// TypeScript: drop jslab and make tslab the server's default kernel.
function preferTslab() {
  rmSync(join(venv, 'share', 'jupyter', 'kernels', 'jslab'), { recursive: true, force: true });
  const dir = join(venv, 'etc', 'jupyter');
  const file = join(dir, 'jupyter_server_config.json');
  let config = {};
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // absent or unreadable: write ours
  }
  if (config.MappingKernelManager?.default_kernel_name === 'tslab') return say('kernel "tslab" is registered and the default');
  config.MappingKernelManager = { ...config.MappingKernelManager, default_kernel_name: 'tslab' };
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  say('kernel "tslab" is the default; the JavaScript kernel is not offered');
}

// 5. Native TensorFlow for tfjs-node-gpu, built from source against the C library
// inside the tensorflow-cpu wheel (no prebuilt download).
function nativeTensorflow() {
  begin(`native TensorFlow binding (tfjs-node-gpu against ${TF_WHEEL} ${TF_VERSION})`);
  const pkg = join(root, 'node_modules', '@tensorflow', 'tfjs-node-gpu');
  const probe = `const tf=require('@tensorflow/tfjs-node-gpu');const t=tf.matMul(tf.ones([2,2]),tf.ones([2,2]));if(t.dataSync()[0]!==2)process.exit(3);console.log(tf.getBackend())`;
  const record = join(cache, 'native-tensorflow.json');
  const built = existsSync(record) ? JSON.parse(readFileSync(record, 'utf8')) : undefined;
  if (!args.has('--force-native') && (!built || built.wheel === TF_WHEEL)) {
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
  const preGyp = join(root, 'node_modules', '@mapbox', 'node-pre-gyp', 'bin', 'node-pre-gyp');
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

function gpuUnusedMessage(reason) {
  return (
    `nvidia-smi sees ${GPU.count}x ${GPU.name} (driver ${GPU.driver}, CUDA ${GPU.cuda}), but native TensorFlow (${TF_WHEEL} ${TF_VERSION}) does not use it: ${reason}. ` +
    'Every measurement would silently run on the CPU. Fix the CUDA libraries (BATCHLAB_CUDA_LIBS=on node scripts/setup.mjs --force-native), ' +
    'or build for the CPU on purpose with BATCHLAB_GPU=off node scripts/setup.mjs --force-native.'
  );
}

// The CUDA libraries of tensorflow[and-cuda], from PyPI: the nvidia-* wheels its metadata
// names for the "and-cuda" extra, unpacked beside tensorflow/ so that the RUNPATH the
// wheel's libraries carry ($ORIGIN/../nvidia/<lib>/lib) finds them without LD_LIBRARY_PATH.
function cudaLibraries(tfWheel, wheelDir, unpacked) {
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

// 6. Chromium for the browser tests, from Debian's package (never a browser download).
function chromium() {
  begin('Chromium (Debian package) for the browser tests');
  const bin = process.env.BATCHLAB_CHROMIUM ?? '/usr/bin/chromium';
  if (existsSync(bin)) return say(`${bin} is present`);
  if (process.getuid?.() !== 0) throw new Error(`Chromium is missing at ${bin} and this user cannot apt-get install it; run: sudo apt-get install -y chromium`);
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', 'chromium'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
  if (!existsSync(bin)) throw new Error(`apt-get installed chromium, but ${bin} is still missing`);
}

try {
  npmDependencies();
  selfLink();
  pythonVenv();
  tslabKernel();
  if (process.env.BATCHLAB_NATIVE === 'off') say('BATCHLAB_NATIVE=off: skipping the native TensorFlow build (wasm and cpu backends only)');
  else nativeTensorflow();
  if (args.has('--browser')) chromium();
  say('set-up complete');
} catch (err) {
  say(`set-up failed: ${err.message}`);
  process.exit(1);
}
