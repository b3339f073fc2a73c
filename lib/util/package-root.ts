import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
