#!/usr/bin/env node
// Opens JupyterLab from the project venv, at the notebooks folder, with the tslab
// (TypeScript) kernel registered by scripts/setup.mjs. Extra arguments go to jupyter.
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = ['lab', `--ServerApp.root_dir=${join(root, 'notebooks')}`, ...process.argv.slice(2)];
// Jupyter refuses to run as root unless told; containers often are root.
if (process.getuid?.() === 0 && !args.includes('--allow-root')) args.push('--allow-root');
const child = spawn(join(root, '.venv', 'bin', 'jupyter'), args, { cwd: root, stdio: 'inherit', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' } });
child.on('exit', (code) => process.exit(code ?? 0));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
