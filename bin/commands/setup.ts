import { existsSync, readFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { InputError } from '../../lib/util/errors.js';
import { batchlabRoot } from '../../lib/util/package-root.js';
import { emit, ioOf } from './context.js';

/** The package whose native binding `batchlab setup` installs and builds. */
const NATIVE_PACKAGE = '@tensorflow/tfjs-node-gpu';

interface NativePlan {
  gpu: { name: string; driver: string; cuda?: string; count: number } | null;
  wheel: string;
  version: string;
  cudaLibraries: boolean;
}

/** scripts/native.mjs: plain Node, shared with scripts/setup.mjs (see there). */
interface NativeModule {
  nativePlan(): NativePlan;
  buildNativeBinding(o: { root: string; cache: string; plan: NativePlan; force: boolean; say: (line: string) => void }): void;
}

/**
 * The project whose node_modules receives the binding: the folder holding the
 * node_modules that batchlab is installed in, or batchlab's own folder in a checkout.
 */
function defaultProject(root: string): string {
  return basename(dirname(root)) === 'node_modules' ? dirname(dirname(root)) : root;
}

/** The version of the native package batchlab's package.json asks for (its peer range). */
function nativeVersion(root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { peerDependencies?: Record<string, string> };
  return pkg.peerDependencies?.[NATIVE_PACKAGE] ?? 'latest';
}

/**
 * `batchlab setup`: installs the optional native TensorFlow backend into the project
 * that uses batchlab and builds its binding from a TensorFlow wheel (PyPI), as
 * scripts/setup.mjs does in a checkout. Without it batchlab runs on tfjs's wasm and cpu
 * backends. Needs Linux x86-64, python3 (pip), a C++ compiler and Node's C headers.
 *
 * @example
 * register(new Command('batchlab')); // npx batchlab setup --plan
 */
export function register(program: Command): void {
  program
    .command('setup')
    .description(`install and build the optional native TensorFlow backend (${NATIVE_PACKAGE}, built from a TensorFlow wheel); without it batchlab uses the wasm and cpu backends`)
    .addHelpText(
      'after',
      '\nThe binding is installed with `npm install --no-save --ignore-scripts` (its own install script would download\n' +
        'libtensorflow), so a later `npm install` in the project removes it again: run `batchlab setup` after it.\n' +
        'It needs Linux x86-64, python3 with pip, a C++ compiler and Node\'s C headers; the wheel (about 250 MB) is kept\n' +
        'under the batchlab package\'s .cache folder. BATCHLAB_GPU=off builds for the CPU on a GPU machine.',
    )
    .option('--plan', 'print what would be installed and built, then stop')
    .option('--force', 'rebuild the binding even when it already loads')
    .option('--project <dir>', 'project folder whose node_modules receives the binding (default: the one batchlab is installed in)')
    .action(async (opts: { plan?: boolean; force?: boolean; project?: string }, cmd: Command) => {
      const io = ioOf(cmd);
      const root = batchlabRoot();
      // resolve('') is the working folder: an empty --project is a mistake, not that folder.
      if (opts.project !== undefined && opts.project.trim() === '') throw new InputError('--project', opts.project, 'an existing folder holding a package.json');
      const project = resolve(opts.project ?? defaultProject(root));
      if (!existsSync(project) || !statSync(project).isDirectory()) throw new InputError('--project', opts.project, 'an existing folder');
      const manifest = join(project, 'package.json');
      if (!existsSync(manifest) || !statSync(manifest).isFile()) throw new InputError('--project', project, 'a folder with a package.json (a regular file)');
      const native = (await import(pathToFileURL(join(root, 'scripts', 'native.mjs')).href)) as NativeModule;
      const plan = native.nativePlan();
      const installed = existsSync(join(project, 'node_modules', NATIVE_PACKAGE, 'package.json'));
      const version = nativeVersion(root);
      const supported = process.platform === 'linux' && process.arch === 'x64';
      if (opts.plan) {
        emit(cmd, { project, package: `${NATIVE_PACKAGE}@${version}`, installed, supported, ...plan }, () => [
          `project: ${project}`,
          `${NATIVE_PACKAGE}@${version}: ${installed ? 'installed' : 'to be installed (npm install --no-save --ignore-scripts)'}`,
          `TensorFlow wheel: ${plan.wheel} ${plan.version}${plan.gpu ? ` for ${plan.gpu.name}` : ' (no GPU seen by nvidia-smi)'}${plan.cudaLibraries ? ', with the CUDA libraries of tensorflow[and-cuda]' : ''}`,
          ...(supported ? [] : [`this platform (${process.platform}-${process.arch}) is not supported: batchlab will use the wasm and cpu backends`]),
        ]);
        return;
      }
      if (!supported) {
        throw new Error(
          `batchlab setup builds the native binding from the Linux x86-64 TensorFlow wheel; on ${process.platform}-${process.arch} batchlab runs on the wasm and cpu backends ` +
            '(BATCHLAB_NATIVE_PACKAGE names another tfjs-node package to load instead)',
        );
      }
      const say = (line: string): void => io.err(`[batchlab setup] ${line}`);
      if (!installed) {
        say(`installing ${NATIVE_PACKAGE}@${version} into ${project} without its install script`);
        const r = spawnSync('npm', ['install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', `${NATIVE_PACKAGE}@${version}`], { cwd: project, stdio: 'inherit' });
        if (r.error || r.status !== 0) throw new Error(`npm install ${NATIVE_PACKAGE}@${version} failed in ${project} (${r.error?.message ?? `exit ${r.status}`})`);
      }
      native.buildNativeBinding({ root: project, cache: join(root, '.cache'), plan, force: Boolean(opts.force), say });
      say(`done: the next batchlab process selects the native backend (BATCHLAB_BACKEND=wasm or cpu chooses another)`);
    });
}
