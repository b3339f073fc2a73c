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
import { existsSync, mkdirSync, rmSync, symlinkSync, lstatSync, readFileSync, statSync, writeFileSync, readlinkSync } from 'node:fs';
import { dirname, join, resolve, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TF_VERSION, buildNativeBinding, nativePlan, runner } from './native.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const cache = join(root, '.cache');
const venv = join(root, '.venv');
const venvPython = join(venv, 'bin', 'python');

const PLAN = nativePlan();
const TF_WHEEL = PLAN.wheel;
// plotly brings the jupyterlab-plotly renderer, so figures render inside JupyterLab too.
// openai: the official Python client, an outside client for the server's end-to-end tests.
const PY_PACKAGES = ['jupyterlab>=4.2,<5', 'nbconvert>=7.16,<8', 'nbclient>=0.10,<1', 'ipykernel>=6.29,<8', 'numpy>=1.26,<3', 'plotly>=5.24,<8', 'threadpoolctl>=3.5,<4', 'openai>=1.40,<3'];

// --plan: print what this machine would get (GPU seen, wheel, CUDA libraries) and stop,
// so the GPU route can be checked on a machine without a GPU (test/e2e/setup-gpu.test.ts).
if (args.has('--plan')) {
  console.log(JSON.stringify(PLAN));
  process.exit(0);
}

let step = 0;
const t0 = Date.now();
function say(msg) {
  process.stderr.write(`[setup ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}\n`);
}
const { run } = runner(root, say);
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

// 5. Native TensorFlow for tfjs-node-gpu (scripts/native.mjs).
function nativeTensorflow() {
  begin(`native TensorFlow binding (tfjs-node-gpu against ${TF_WHEEL} ${TF_VERSION})`);
  buildNativeBinding({ root, cache, plan: PLAN, force: args.has('--force-native'), say });
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
