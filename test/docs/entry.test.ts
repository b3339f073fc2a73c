// The package entry (lib/index.ts) is a hand-kept list of named re-exports. These tests
// keep it honest: every name a folder's index.ts exports reaches the entry (under its own
// name or a clearer alias), and the entry re-exports nothing with `export *`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const lib = join(root, 'lib');

test('lib/index.ts re-exports every name of every folder index, and only by name', () => {
  const folders = readdirSync(lib).filter((d) => existsSync(join(lib, d, 'index.ts')));
  const files = [join(lib, 'index.ts'), ...folders.map((d) => join(lib, d, 'index.ts'))];
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
  const entry = declarationsOf(join(lib, 'index.ts'));
  const missing: string[] = [];
  for (const d of folders) {
    const mod = checker.getSymbolAtLocation(program.getSourceFile(join(lib, d, 'index.ts'))!)!;
    for (const s of checker.getExportsOfModule(mod)) {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      if (!(target.declarations ?? []).some((decl) => entry.has(decl))) missing.push(`${s.getName()} (lib/${d})`);
    }
  }
  assert.deepEqual(missing, [], `add these to lib/index.ts (public or internal block): ${missing.join(', ')}`);
  assert.doesNotMatch(readFileSync(join(lib, 'index.ts'), 'utf8'), /export \*/, 'lib/index.ts lists names, never export *');
});
