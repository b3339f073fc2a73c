// `npm pack` yields a package that installs into a clean folder as a user installs it,
// install scripts on, with neither Python nor CUDA on PATH: the native binding
// (@tensorflow/tfjs-node-gpu, whose install script downloads libtensorflow) is an optional
// peer that `batchlab setup` adds, so nothing downloads a binary. There the library
// imports by name and computes on the wasm/cpu fallback, the CLI runs through npx, and
// the public declarations ("batchlab", "batchlab/internal") type-check with
// skipLibCheck false. Dependencies come from the registry (or npm's cache).
// A second test runs `batchlab setup` in such a project (with the wheel setup already
// keeps in .cache/wheels) and checks that the project then runs on native TensorFlow.
import { publishedCases } from '../../lib/roofline/index.js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');

// PATH for the consumer: node, npm, npx and sh only (no python3, no nvidia-smi, no compiler).
function bareBin(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const nodeDir = dirname(process.execPath);
  for (const tool of ['node', 'npm', 'npx']) symlinkSync(join(nodeDir, tool), join(bin, tool));
  symlinkSync('/bin/sh', join(bin, 'sh')); // npm runs install scripts through sh
  return bin;
}
let consumerPath: string | undefined;

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 300_000, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3', ...(consumerPath && cwd !== root ? { PATH: consumerPath } : {}), ...env } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} in ${cwd} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

let dir: string;
let tgz: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'batchlab-pack-'));
  run('npm', ['pack', '--pack-destination', dir], root); // prepack builds dist/
  const file = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  assert.ok(file, 'npm pack wrote no tarball');
  tgz = file;
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('npm pack yields a package that installs and imports in a clean folder', { timeout: 600_000 }, () => {
  try {
    const listing = run('tar', ['tzf', join(dir, tgz)], dir);
    for (const f of ['package/dist/lib/index.js', 'package/dist/bin/batchlab.js', 'package/bin/batchlab.js', 'package/data/models/deepseek-v3.json', 'package/data/hardware/h200.json']) {
      assert.ok(listing.includes(f), `${f} missing from the tarball`);
    }
    assert.doesNotMatch(listing, /package\/(test|notebooks|node_modules|\.venv|\.cache)\//);
    for (const f of ['package/scripts/native.mjs', 'package/dist/lib/internal.js', 'package/dist/lib/internal.d.ts']) assert.ok(listing.includes(f), `${f} missing from the tarball`);
    // The license the manifest names, and the docs the README's commands and the CLI's messages point at.
    for (const f of ['package/LICENSE', 'package/docs/search-spec.example.json', 'package/docs/local-setup.md', 'package/docs/sweeps.md']) assert.ok(listing.includes(f), `${f} missing from the tarball`);
    const app = join(dir, 'app');
    mkdirSync(app);
    consumerPath = bareBin(dir);
    assert.notEqual(spawnSync('python3', ['--version'], { env: { PATH: consumerPath } }).status, 0, 'python3 is still reachable on the consumer PATH');
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    // @types/node as any TypeScript project on Node has it (for the declaration check below).
    run('npm', ['install', '--ignore-scripts=false', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tgz), '@types/node@^20'], app);
    assert.ok(!existsSync(join(app, 'node_modules', '@tensorflow', 'tfjs-node-gpu')), 'the native binding was installed: its install script would download libtensorflow');
    writeFileSync(
      join(app, 'check.mjs'),
      `const b = await import('batchlab');
const m = b.loadModel('deepseek-v3');
console.log(JSON.stringify({ experts: m.moe.numExperts, pipeline: b.pipelineBubbleFraction({ stages: 4, microBatches: 4 }), published: b.publishedComparisons().length, local: b.loadLocalSetup('mac-studio-m3-ultra').id }));`,
    );
    const out = JSON.parse(run('node', ['check.mjs'], app).trim().split('\n').at(-1)!) as { experts: number; pipeline: number; published: number; local: string };
    assert.equal(out.experts, 256); // DeepSeek-V3 config.json: n_routed_experts
    assert.equal(out.pipeline, 3 / 7); // (S−1)/(m+S−1)
    // The published cases (data/published, with the prompt mix under data/traces) and the local setups ship too.
    assert.equal(out.published, publishedCases().length);
    assert.equal(out.local, 'mac-studio-m3-ultra');
    const version = run('npx', ['--no-install', 'batchlab', '--version'], app).trim();
    assert.equal(version, (JSON.parse(run('node', ['-p', "JSON.stringify(require('./package.json'))"], root)) as { version: string }).version);
    const help = run('npx', ['--no-install', 'batchlab', '--help'], app);
    for (const command of ['roofline', 'deploy', 'setup']) assert.match(help, new RegExp(`^  ${command}\\b`, 'm'), `batchlab --help lists no ${command} command`);
    // The README's search example, its spec read from the installed package.
    const search = JSON.parse(run('npx', ['--no-install', 'batchlab', '--json', 'search', '--spec', join(app, 'node_modules', 'batchlab', 'docs', 'search-spec.example.json')], app)) as { best: { devicesNeeded: number } | null };
    assert.ok(search.best && search.best.devicesNeeded >= 1);
    const plan = JSON.parse(run('npx', ['--no-install', 'batchlab', '--json', 'setup', '--plan'], app)) as { project: string; installed: boolean; package: string };
    assert.equal(plan.installed, false);
    assert.equal(plan.project, app); // the binding goes into the project that installed batchlab
    assert.match(plan.package, /^@tensorflow\/tfjs-node-gpu@/);

    // A small computation on the fallback backend, chosen with its printed reasons.
    const compute = `import { selectBackend, matmulFlops } from 'batchlab';
import { checkInt } from 'batchlab/internal';
const lines = [];
const { name, tf } = await selectBackend('auto', { log: (l) => lines.push(l) });
const y = tf.matMul(tf.ones([2, 3]), tf.ones([3, 4]));
console.log(JSON.stringify({ name, lines, shape: y.shape, sum: (await y.sum().data())[0], flops: matmulFlops(2, 3, 4), k: checkInt('k', 3) }));`;
    const c = JSON.parse(run('node', ['--input-type=module', '-e', compute], app).trim().split('\n').at(-1)!) as { name: string; lines: string[]; shape: number[]; sum: number; flops: number; k: number };
    assert.ok(c.name === 'wasm' || c.name === 'cpu', `fell back to ${c.name}`);
    assert.ok(c.lines.some((l) => /backend tensorflow unavailable: @tensorflow\/tfjs-node-gpu did not load: .*batchlab setup/.test(l)), c.lines.join('\n'));
    assert.ok(c.lines.some((l) => l.startsWith(`batchlab: using backend ${c.name}`)), c.lines.join('\n'));
    assert.deepEqual(c.shape, [2, 4]);
    assert.equal(c.sum, 24); // ones(2×3)·ones(3×4): 8 entries of 3
    assert.equal(c.flops, 48); // 2·m·k·n
    assert.equal(c.k, 3);

    // The declarations a consumer compiles, library checking on; the project's own tsc.
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true }, files: ['use.ts'] }));
    writeFileSync(
      join(app, 'use.ts'),
      `import { loadModel, pipelineBubbleFraction, type Table } from 'batchlab';
import { checkInt } from 'batchlab/internal';
const experts: number = loadModel('deepseek-v3').moe!.numExperts;
const bubble: number = pipelineBubbleFraction({ stages: 4, microBatches: 4 });
export const rows = (t: Table): number => t.numRows() + experts + bubble + checkInt('k', 1);
`,
    );
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app, encoding: 'utf8', timeout: 300_000 });
    assert.equal(tsc.status, 0, `the public declarations fail a skipLibCheck: false build:\n${tsc.stdout}${tsc.stderr}`);
  } finally {
    consumerPath = undefined;
  }
});

test('batchlab setup, run in a project that installed the tarball, installs and builds the native binding there', { timeout: 900_000 }, (t) => {
  if (process.env.BATCHLAB_NATIVE === 'off') return t.skip('BATCHLAB_NATIVE=off: the native binding is opted out');
  if (spawnSync('python3', ['--version']).status !== 0) return t.skip('no python3: batchlab setup unpacks the wheel with it');
  // The wheel scripts/setup.mjs keeps in .cache/wheels; the test does not download 250 MB.
  const plan = JSON.parse(run('node', [join(root, 'scripts', 'setup.mjs'), '--plan'], root)) as { wheel: string; version: string };
  const wheels = join(root, '.cache', 'wheels');
  const wheel = existsSync(wheels) ? readdirSync(wheels).find((f) => f.startsWith(`${plan.wheel.replace(/-/g, '_')}-${plan.version}-`) && f.endsWith('.whl')) : undefined;
  if (!wheel) return t.skip(`no ${plan.wheel} ${plan.version} wheel in .cache/wheels (node scripts/setup.mjs downloads it)`);
  const app = join(dir, 'native-app');
  mkdirSync(app);
  const manifest = { name: 'consumer', version: '1.0.0', private: true, type: 'module' };
  writeFileSync(join(app, 'package.json'), JSON.stringify(manifest));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tgz)], app);
  const cached = join(app, 'node_modules', 'batchlab', '.cache', 'wheels');
  mkdirSync(cached, { recursive: true });
  symlinkSync(join(wheels, wheel), join(cached, wheel));
  run('npx', ['--no-install', 'batchlab', 'setup'], app);
  assert.ok(existsSync(join(app, 'node_modules', '@tensorflow', 'tfjs-node-gpu', 'package.json')), 'setup installed no native package');
  // --no-save: the project's own package.json names batchlab only.
  assert.deepEqual(Object.keys((JSON.parse(run('node', ['-p', "JSON.stringify(require('./package.json'))"], app)) as { dependencies: object }).dependencies), ['batchlab']);
  const out = run('node', ['--input-type=module', '-e', "import { selectBackend } from 'batchlab'; const { name, tf } = await selectBackend('auto', { log: () => {} }); console.log(JSON.stringify({ name, sum: tf.matMul(tf.ones([2, 3]), tf.ones([3, 4])).sum().dataSync()[0] }));"], app);
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { name: string; sum: number };
  assert.ok(r.name === 'tensorflow' || r.name === 'tensorflow-gpu', `the project runs on ${r.name}, not the native backend`);
  assert.equal(r.sum, 24); // ones(2×3)·ones(3×4): 8 entries of 3
});
