// The package entries (lib/index.ts, "batchlab", and lib/internal.ts, "batchlab/internal")
// are hand-kept lists of named re-exports. These tests keep them honest: every name a
// folder's index.ts exports reaches exactly one entry (under its own name or a clearer
// alias), and neither re-exports anything with `export *`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const lib = join(root, 'lib');

test('lib/index.ts and lib/internal.ts re-export every name of every folder index, each in one of them, and only by name', () => {
  const folders = readdirSync(lib).filter((d) => existsSync(join(lib, d, 'index.ts')));
  const files = [join(lib, 'index.ts'), join(lib, 'internal.ts'), ...folders.map((d) => join(lib, d, 'index.ts'))];
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const program = ts.createProgram(files, { ...(config?.options ?? {}), noEmit: true });
  const checker = program.getTypeChecker();
  const declarationsOf = (file: string): Set<ts.Declaration> => {
    const mod = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
    const out = new Set<ts.Declaration>();
    for (const s of checker.getExportsOfModule(mod)) {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      for (const d of target.declarations ?? []) out.add(d);
    }
    return out;
  };
  const publicEntry = declarationsOf(join(lib, 'index.ts'));
  const internalEntry = declarationsOf(join(lib, 'internal.ts'));
  const both = [...publicEntry].filter((d) => internalEntry.has(d)).map((d) => (ts.getNameOfDeclaration(d)?.getText() ?? '?'));
  assert.deepEqual(both, [], 'a name is public (lib/index.ts) or internal (lib/internal.ts), not both');
  const entry = new Set([...publicEntry, ...internalEntry]);
  const missing: string[] = [];
  for (const d of folders) {
    const mod = checker.getSymbolAtLocation(program.getSourceFile(join(lib, d, 'index.ts'))!)!;
    for (const s of checker.getExportsOfModule(mod)) {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      if (!(target.declarations ?? []).some((decl) => entry.has(decl))) missing.push(`${s.getName()} (lib/${d})`);
    }
  }
  assert.deepEqual(missing, [], `add these to lib/index.ts (public) or lib/internal.ts (internal): ${missing.join(', ')}`);
  for (const f of ['index.ts', 'internal.ts']) assert.doesNotMatch(readFileSync(join(lib, f), 'utf8'), /export \*/, `lib/${f} lists names, never export *`);
});
