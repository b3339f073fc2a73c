import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../lib/models/index.js';
import { deepseekDayReproduction } from '../../lib/deployment/deepseek.js';
import { describeDeepseekDay, describeLocalVsScale, describeTitleAnswer, localVsScale } from '../../lib/deployment/essay.js';
import { listLocalSetups, localDecode } from '../../lib/deployment/local.js';

const day = deepseekDayReproduction();
const rows = localVsScale(loadModel('deepseek-v3'), day, { bitsPerWeight: 4.8, context: 4096, setups: listLocalSetups() });

test('localVsScale(): one row per local setup and two at scale; the published decode cost is $2 × 8 / 3600 / 14,800 tok/s per million', () => {
  assert.equal(rows.filter((r) => r.kind === 'local').length, listLocalSetups().length);
  const pub = rows.at(-1)!;
  assert.ok(Math.abs(pub.usdPerMillionOutput - ((2 * 8) / 3600 / 14800) * 1e6) < 1e-12);
  // H800 fp8: R = 1979e12 / 3.35e12 FLOP/B, s = 1 byte; expert gate/up GEMM k = 7168, n = 2 × 2048 (config.json):
  // B* = R·s·k·n / (2kn − R·s·(k + n)) = 333.1 tokens per expert; 2 experts per GPU, 8 experts per token,
  // 2 tokens verified per step → ⌈333.1 × 2 / 16⌉ = 42 sequences per GPU.
  const R = 1979e12 / 3.35e12;
  const knee = (R * 7168 * 4096) / (2 * 7168 * 4096 - R * (7168 + 4096));
  assert.equal(pub.efficientBatch, Math.ceil((knee * 2) / 16));
  assert.equal(pub.efficientBatch, 42);
  // Every local single user pays more per token than DeepSeek's published decode pool.
  for (const r of rows.filter((x) => x.kind === 'local' && x.refusal === null)) assert.ok(r.usdPerMillionOutput > pub.usdPerMillionOutput, r.where);
});

test('describe*(): sentences quote the computed numbers and escape dollar signs for notebook markdown', () => {
  const a = describeDeepseekDay(day);
  assert.match(a, /\\\$87,072/);
  assert.match(a, /545 %/);
  assert.ok(!/(^|[^\\])\$/.test(a));
  const b = describeLocalVsScale(rows, 4.8);
  const fastest = rows.filter((r) => r.kind === 'local').reduce((x, r) => (r.tokensPerSecondPerUser > x.tokensPerSecondPerUser ? r : x));
  assert.ok(b.includes(fastest.tokensPerSecondPerUser.toFixed(1)));
  assert.match(describeTitleAnswer(day, rows), /only scale fills the batch/);
});

test('localVsScale(): a local row is bound by the tier that takes most of a token\'s time, not the one holding most bytes', () => {
  const model = loadModel('deepseek-v3');
  for (const s of listLocalSetups()) {
    const row = rows.find((r) => r.where === s.name)!;
    if (row.refusal !== null) continue;
    const run = localDecode(model, s, { bitsPerWeight: 4.8, context: 4096, batch: 1 });
    const slowest = run.tiers.reduce((a, t) => (t.seconds > a.seconds ? t : a));
    assert.ok(row.boundBy.includes(slowest.tier === 'device' ? 'device memory' : `from ${slowest.tier}`), `${s.id}: ${row.boundBy} vs ${slowest.tier}`);
  }
});

test('describeLocalVsScale(): a setup whose experts never reach the ridge reads "at no batch at all", never ∞ or Infinity', () => {
  const text = describeLocalVsScale(rows, 4.8);
  assert.ok(!/∞|Infinity|NaN/.test(text), text);
  // The RTX 4090 desktop streams experts from its SSD: its knee is where streaming an expert's weights takes as long
  // as computing with them, B = P·s / (2·W) tokens per expert, times 256 experts / 8 per token.
  const desk = rows.find((r) => r.where.includes('RTX 4090 in a desktop'))!;
  const s = listLocalSetups().find((x) => x.name === desk.where)!;
  const run = localDecode(loadModel('deepseek-v3'), s, { bitsPerWeight: 4.8, context: 4096, batch: 1 });
  const slowest = run.tiers.reduce((a, t) => (t.seconds > a.seconds ? t : a));
  const bw = Math.min(slowest.bytesPerSecond, s.hostLinkBytesPerSecond);
  const peak = s.device.peakFlops.bf16 ?? s.device.peakFlops.fp16 ?? (s.device.peakFlops.fp32 as number);
  const perExpert = (peak * 0.6) / (2 * bw);
  assert.ok(Math.abs(desk.efficientBatch - Math.ceil((perExpert * 256) / 8)) <= 1, `${desk.efficientBatch}`);
  assert.match(text, /at about [\d,]+ on one RTX 4090 in a desktop/);
});

test('localVsScale(): every row says whether its speed is calibrated, a bound or published; calibration: "bound" gives the faster datasheet speeds', () => {
  const model = loadModel('deepseek-v3');
  const bound = localVsScale(model, day, { bitsPerWeight: 4.8, context: 4096, setups: listLocalSetups(), calibration: 'bound' });
  for (const [i, r] of rows.entries()) {
    if (r.kind === 'scale') {
      assert.ok(r.calibration === 'calibrated' || r.calibration === 'published');
      continue;
    }
    if (r.refusal !== null) continue;
    // Every catalog setup names its runtimes: a local row is calibrated, or partly (an SSD tier has no runtime factor).
    assert.ok(r.calibration === 'calibrated' || r.calibration === 'partly calibrated', `${r.where}: ${r.calibration}`);
    assert.equal(bound[i].calibration, 'bound');
    // Runtime factors are below 1 for every bandwidth: the bound is never slower.
    assert.ok(bound[i].tokensPerSecondPerUser >= r.tokensPerSecondPerUser, r.where);
  }
});

test('describeDenseVsMoe() says a trick leaves a cost where it is when the printed figures are equal (it said prefix caching "lowers" $1.42 to $1.42)', async () => {
  const { describeDenseVsMoe } = await import('../../lib/deployment/essay.js');
  const row = (model: string, question: string, usd: number, ttft = 0.3) => ({ model, question, layout: 'TP2', batch: 64, devices: 2, tokensPerSecondPerUser: 20, usdPerMillionOutput: usd, ttftSeconds: ttft });
  const rows = [
    row('dense', 'one user', 9), row('moe', 'one user', 9),
    row('dense', 'equal latency at 20 tok/s', 0.822), row('moe', 'equal latency at 20 tok/s', 1.422, 0.276),
    row('dense', 'equal cost', 1.422), row('moe', 'equal cost', 1.422),
    row('dense', 'with MTP', 0.7), row('moe', 'with MTP', 1.5),
    row('dense', 'with prefix cache', 0.822), row('moe', 'with prefix cache', 1.4221, 0.123),
  ];
  const text = describeDenseVsMoe(rows);
  // Dollar signs come escaped for Markdown (md).
  assert.match(text, /prefix caching at DeepSeek's hit ratio leaves the moe cost at \\\$1\.42 and lowers its time to first token from 276 ms to 123 ms/);
  assert.match(text, /Speculative decoding \(one draft token, stated acceptance\) lowers the cost at that speed for dense from \\\$0\.822 to \\\$0\.700 and raises that for moe from \\\$1\.42 to \\\$1\.50/);
});
