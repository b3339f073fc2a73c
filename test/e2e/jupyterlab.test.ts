// JupyterLab from the project's venv lists the TypeScript (tslab) kernel and starts it:
// checked through the server's REST API on a free loopback port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('JupyterLab lists the tslab kernel and starts it', { timeout: 180_000 }, async () => {
  const jupyter = join(root, '.venv', 'bin', 'jupyter');
  assert.ok(existsSync(jupyter), 'the venv has no jupyter; run node scripts/setup.mjs');
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const server = spawn(
    jupyter,
    ['lab', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0', `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${root}`, ...(process.getuid?.() === 0 ? ['--allow-root'] : [])],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, JUPYTER_PLATFORM_DIRS: '1' } },
  );
  let log = '';
  server.stdout.on('data', (d) => (log += d));
  server.stderr.on('data', (d) => (log += d));
  let exited = false;
  const exit = new Promise((r) => server.once('exit', () => ((exited = true), r(null))));
  const base = `http://127.0.0.1:${port}`;
  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${base}${path}`, { ...init, headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' } });
    return { status: res.status, body: res.status === 204 ? null : await res.json() };
  };
  try {
    let up = false;
    for (let i = 0; i < 120 && !up && !exited; i++) {
      await sleep(500);
      up = await api('/api/status').then((r) => r.status === 200, () => false);
    }
    assert.ok(up, `JupyterLab did not answer on ${base}:\n${log}`);

    const specs = await api('/api/kernelspecs');
    assert.equal(specs.status, 200);
    const tslab = specs.body.kernelspecs.tslab;
    assert.ok(tslab, `kernelspecs: ${Object.keys(specs.body.kernelspecs).join(', ')}`);
    assert.equal(tslab.spec.language, 'typescript');

    const started = await api('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'tslab' }) });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = started.body.id;
    // jupyter_server answers a restart only after the new kernel process has replied to
    // a kernel_info_request (it times out otherwise), so a 200 here means tslab started
    // and answers on its sockets. Its execution_state stays "starting" until a client
    // opens a websocket, so that field alone proves nothing.
    const restarted = await api(`/api/kernels/${id}/restart`, { method: 'POST' });
    assert.equal(restarted.status, 200, `restart of the tslab kernel: ${JSON.stringify(restarted.body)}\n${log}`);
    assert.notEqual(restarted.body.execution_state, 'dead');
    const del = await api(`/api/kernels/${id}`, { method: 'DELETE' });
    assert.equal(del.status, 204);
  } finally {
    if (!exited) server.kill('SIGTERM');
    await exit;
  }
});
