import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InputError } from './errors.js';
import { fileURLToPath } from 'node:url';
import { homedir } from 'node:os';

let cached: string | undefined;

/**
 * The batchlab package root (the folder holding its package.json). Found by walking
 * up from this module because the same code runs as lib/…/*.ts under tsx and as
 * dist/lib/…/*.js once built, at different depths below the root.
 */
export function batchlabRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'batchlab') return (cached = dir);
      } catch {
        // An unreadable package.json belongs to something else; keep walking.
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`batchlab package root not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** Absolute path of a folder under data/ in the package root. */
export function batchlabDataDir(sub: string): string {
  return join(batchlabRoot(), 'data', sub);
}

/**
 * Where this machine's measurements are saved and read: BATCHLAB_MEASURED_DIR when set;
 * data/measured/ of a batchlab checkout; and for batchlab installed as a dependency (its
 * root inside a node_modules folder, which a reinstall replaces and a user may not be
 * allowed to write) the user's data folder, $XDG_DATA_HOME/batchlab/measured
 * (~/.local/share/batchlab/measured): measurements belong to the machine, not to a project.
 *
 * @example
 * measuredDataDir() // => '<checkout>/data/measured' in a checkout
 */
export function measuredDataDir(): string {
  return measuredDirFor(batchlabRoot(), process.env, homedir());
}

/**
 * `measuredDataDir` for a given package root, environment and home folder.
 *
 * @example
 * measuredDirFor('/app/node_modules/batchlab', {}, '/home/me') // => '/home/me/.local/share/batchlab/measured'
 */
export function measuredDirFor(root: string, env: Readonly<Record<string, string | undefined>>, home: string): string {
  const own = env.BATCHLAB_MEASURED_DIR;
  if (own !== undefined && own !== '') return own;
  if (!root.split(sep).includes('node_modules')) return join(root, 'data', 'measured');
  const xdg = env.XDG_DATA_HOME;
  // The XDG base directory specification ignores a relative XDG_DATA_HOME.
  return join(xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.local', 'share'), 'batchlab', 'measured');
}

/**
 * A path as a report prints it: relative to the batchlab project when it lies inside it
 * (`data/measured/x.csv`), else its file name alone, so that no report carries the
 * absolute folders of the machine that ran it. With `outside: 'whole'` (an error message
 * on the user's own machine, where the folder is the point) a path outside stays absolute.
 *
 * @example
 * projectRelativePath(join(batchlabRoot(), 'data', 'measured', 'a.csv')) // => 'data/measured/a.csv'
 * projectRelativePath('/tmp/elsewhere/a.csv') // => 'a.csv'
 * projectRelativePath('/tmp/elsewhere', { outside: 'whole' }) // => '/tmp/elsewhere'
 */
export function projectRelativePath(path: string, opts: { outside?: 'name' | 'whole' } = {}): string {
  if (typeof path !== 'string' || path === '') throw new InputError('path', path, 'a non-empty path');
  const rel = relative(batchlabRoot(), resolve(path));
  if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return rel.split(sep).join('/');
  return opts.outside === 'whole' ? resolve(path) : basename(path);
}
