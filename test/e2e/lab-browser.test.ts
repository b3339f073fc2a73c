// JupyterLab in headless Chromium: open notebook 05, Run All, and see its plotly charts
// render through the plotly extension, with the TypeScript kernel and no kernel dialog;
// open notebooks 07 and 03 and see their dollar amounts rendered as text, not as maths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');
const chromiumPath = process.env.BATCHLAB_CHROMIUM ?? '/usr/bin/chromium';
const NOTEBOOK = 'notebooks/05-pipeline-bubbles.ipynb';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

/** Starts JupyterLab from the venv and Chromium, hands a page on the Lab URL builder to `body`, and shuts both down. */
async function withLab(body: (open: (notebook: string) => Promise<{ page: import('playwright-core').Page; pageErrors: string[] }>, log: () => string) => Promise<void>): Promise<void> {
  const jupyter = join(root, '.venv', 'bin', 'jupyter');
  assert.ok(existsSync(jupyter), 'the venv has no jupyter; run node scripts/setup.mjs');
  assert.ok(existsSync(chromiumPath), `Chromium is required at ${chromiumPath} (apt-get install -y chromium, or set BATCHLAB_CHROMIUM)`);
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  // Every cell rendered, not only those near the viewport (JupyterLab 4's default windowing), so that checks
  // of a notebook's outputs see all of them; the user's own settings are left alone.
  const settings = mkdtempSync(join(tmpdir(), 'batchlab-lab-settings-'));
  mkdirSync(join(settings, '@jupyterlab', 'notebook-extension'), { recursive: true });
  writeFileSync(join(settings, '@jupyterlab', 'notebook-extension', 'tracker.jupyterlab-settings'), JSON.stringify({ windowingMode: 'none' }));
  const server = spawn(
    jupyter,
    ['lab', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0', `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${root}`, ...(process.getuid?.() === 0 ? ['--allow-root'] : [])],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, JUPYTER_PLATFORM_DIRS: '1', TF_CPP_MIN_LOG_LEVEL: '2', JUPYTERLAB_SETTINGS_DIR: settings } },
  );
  let log = '';
  server.stdout.on('data', (d) => (log += d));
  server.stderr.on('data', (d) => (log += d));
  let exited = false;
  const exit = new Promise((r) => server.once('exit', () => ((exited = true), r(null))));
  const base = `http://127.0.0.1:${port}`;
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  try {
    let up = false;
    for (let i = 0; i < 120 && !up && !exited; i++) {
      await sleep(500);
      up = await fetch(`${base}/api/status?token=${token}`).then((r) => r.status === 200, () => false);
    }
    assert.ok(up, `JupyterLab did not answer:\n${log}`);
    const open = async (notebook: string) => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      // ?reset: a fresh workspace, so no notebook restored from an earlier session sits beside this one.
      await page.goto(`${base}/lab/tree/${notebook}?reset&token=${token}`, { waitUntil: 'domcontentloaded', timeout: 120_000 });
      // The kernel indicator names the notebook's kernel once it is connected.
      await page.waitForSelector('.jp-Notebook', { timeout: 120_000 });
      await page.waitForFunction(() => document.body.innerText.includes('TypeScript'), undefined, { timeout: 120_000 });
      const dialog = await page.$('.jp-Dialog');
      assert.equal(dialog, null, 'a kernel dialog opened instead of the TypeScript kernel');
      await page.click('.jp-Notebook >> visible=true');
      // Run All through JupyterLab's menu (Run → Run All Cells).
      await page.click('.lm-MenuBar-itemLabel:text-is("Run")');
      await page.click('.lm-Menu-itemLabel:text-is("Run All Cells")');
      return { page, pageErrors };
    };
    await body(open, () => log);
  } finally {
    await browser.close();
    if (!exited) server.kill('SIGTERM');
    await exit;
    rmSync(settings, { recursive: true, force: true });
  }
}

test('JupyterLab opens a notebook, runs all cells with the tslab kernel and renders its plotly charts', { timeout: 420_000 }, async () => {
  await withLab(async (open, log) => {
    // Quiet start-up: no ES-module error and no minified JavaScript dumped into the log.
    assert.doesNotMatch(log(), /Dynamic require|ERR_REQUIRE_ESM|yarn configuration/);
    const { page, pageErrors } = await open(NOTEBOOK);
    // Notebook 05 draws five charts; the plotly extension renders each as .js-plotly-plot.
    await page.waitForFunction(
      () => {
        const busy = Array.from(document.querySelectorAll('.jp-InputPrompt')).some((p) => p.textContent?.includes('*'));
        return !busy && document.querySelectorAll('.jp-OutputArea .js-plotly-plot').length >= 5;
      },
      undefined,
      { timeout: 300_000, polling: 500 },
    ).catch(() => undefined);
    const counts = await page.evaluate(() => ({
      plots: document.querySelectorAll('.jp-OutputArea .js-plotly-plot').length,
      errors: document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').length,
    }));
    assert.ok(counts.plots >= 5, `rendered plotly charts: ${counts.plots}`);
    assert.equal(counts.errors, 0, 'cells wrote to stderr');
    assert.deepEqual(pageErrors, []);
  });
});

test('JupyterLab shows the dollar amounts of notebooks 07 and 03 as text, not as mathematics', { timeout: 900_000 }, async () => {
  await withLab(async (open) => {
    for (const notebook of ['notebooks/07-deepseek-local-vs-scale.ipynb', 'notebooks/03-collection-window.ipynb']) {
      const { page, pageErrors } = await open(notebook);
      // The checks scroll, first to the end until the last cell has run, then through the whole notebook,
      // collecting what each screen shows.
      const scroller = '.jp-WindowedPanel-outer';
      await page.waitForFunction(
        (sel) => {
          const outer = document.querySelector(sel) as HTMLElement | null;
          if (outer) outer.scrollTop = outer.scrollHeight;
          const prompts = Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt'));
          const busy = prompts.some((p) => p.textContent?.includes('*'));
          const last = prompts.at(-1)?.textContent ?? '';
          return !busy && /\[\d+\]/.test(last);
        },
        scroller,
        { timeout: 300_000, polling: 1000 },
      ).catch(() => undefined);
      // tsx names the helper functions below with esbuild's __name, which the page lacks.
      await page.evaluate('window.__name = (f) => f');
      const seen = await page.evaluate(async (sel) => {
        const outer = document.querySelector(sel) as HTMLElement | null;
        const pause = () => new Promise((r) => setTimeout(r, 800));
        let answer: string | null = null;
        const sentences = new Set<string>();
        let maths = 0;
        let errors = 0;
        const stderr = new Set<string>();
        const collect = () => {
          for (const e of Array.from(document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))) stderr.add((e as HTMLElement).innerText.slice(0, 300));
          const outputs = Array.from(document.querySelectorAll('.jp-OutputArea-output, .jp-MarkdownOutput'));
          // A rendered sentence holding two dollar amounts, e.g. "… $0.300 per million tokens … $2.00 per GPU-hour …".
          for (const t of outputs.flatMap((o) => (o as HTMLElement).innerText.split(/(?<=[.!?])\s+/))) if (/\$\d[\d.,]*[\s\S]*\$\d/.test(t)) sentences.add(t);
          answer ??= (document.querySelector('.jp-OutputArea .batchlab-answer') as HTMLElement | null)?.innerText ?? null;
          // MathJax 3 renders maths as mjx-container elements; dollar amounts must never become one.
          maths = Math.max(maths, document.querySelectorAll('.jp-Notebook mjx-container, .jp-Notebook .MathJax').length);
          errors = Math.max(errors, document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').length);
        };
        if (outer) {
          for (let y = 0; ; y += Math.max(200, outer.clientHeight * 0.8)) {
            outer.scrollTop = y;
            await pause();
            collect();
            if (y >= outer.scrollHeight) break;
          }
        } else collect();
        return { answer, sentences: [...sentences].slice(0, 3), maths, errors: stderr.size, stderr: [...stderr] };
      }, scroller);
      if (!seen.answer) {
        // What the page shows instead: a screenshot and the first error output, for the failure message.
        const shot = join(root, '.cache', `lab-${notebook.split('/').pop()}.png`);
        await page.screenshot({ path: shot, fullPage: false });
        const firstError = await page.evaluate(() => (document.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], .jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]') as HTMLElement | null)?.innerText ?? 'none');
        assert.fail(`${notebook}: no answer box rendered; first error output: ${firstError.slice(0, 2000)}; screenshot ${shot}`);
      }
      assert.ok(seen.sentences.length > 0, `${notebook}: no rendered sentence with two dollar amounts; answer box: ${seen.answer}`);
      assert.equal(seen.maths, 0, `${notebook}: ${seen.maths} dollar spans rendered as maths`);
      assert.equal(seen.errors, 0, `${notebook}: cells wrote to stderr: ${seen.stderr.join(' | ')}`);
      assert.deepEqual(pageErrors, []);
      await page.close();
    }
  });
});
