import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as aq from 'arquero';
import { describeWindowEffect, describeStaticVsWindow, describeLoadUnderLimit, describeChange, servingSweepRow } from '../../lib/batching/index.js';
import { InputError } from '../../lib/util/errors.js';

// Hand-made rows in the shape of servingReplicaSweep's table: every figure differs, so a
// sentence that read the wrong row or column would show the wrong number.
function row(replica: string, policy: string, windowMs: number | null, load: number, base: number) {
  return {
    replica, policy, windowMs, load,
    meanBatch: base + 0.2, busySecondsPer1kTokens: base / 1000 + 0.0004, usdPerMTok: base / 10 + 0.001, mfu: base / 1000 + 0.001,
    itlP99: base / 1e4 + 0.00001, ttftP99: base / 1e3 + 0.0002, e2eP99: base + 0.4,
  };
}
const sweep = aq.from([
  row('A', 'window', 0, 0.5, 11),
  row('A', 'window', 200, 0.5, 22),
  row('A', 'static', 200, 0.5, 33),
  row('A', 'window', 0, 0.8, 44),
  row('B', 'window', 0, 0.5, 55),
  row('B', 'window', 200, 0.5, 66),
  row('B', 'static', 200, 0.5, 77),
]);

test('describeWindowEffect(sweep, { load, from, to }) takes every number from the from- and to-window rows of each replica', () => {
  const text = describeWindowEffect(sweep, { load: 0.5, from: 0, to: 200 });
  const [a, b] = text.split('\n\n');
  assert.equal(text.split('\n\n').length, 2);
  // Replica A: rows with base 11 (W = 0) and 22 (W = 200) at load 0.5, not the 0.8-load row (44).
  assert.equal(
    a,
    '**A** at 50 % load: from W = 0 to W = 200 ms a step carries 11 → 22 sequences on average; engine time per 1,000 tokens falls from 0.011 s to 0.022 s ' +
      '($1.10 → $2.20 per million tokens of busy time), MFU rises from 1 % to 2 %, while p99 inter-token latency grows from 1 ms to 2 ms and p99 time to first token from 11 ms to 22 ms.',
  );
  assert.match(b, /^\*\*B\*\* at 50 % load: .* carries 55 → 66 sequences/);
  assert.match(b, /from 0\.055 s to 0\.066 s/);
});

test('describeStaticVsWindow(sweep, { load, windowMs }) compares the static and window rows at that window', () => {
  const [a, b] = describeStaticVsWindow(sweep, { load: 0.5, windowMs: 200 }).split('\n\n');
  // Static row base 33, window row base 22: busy s/1k = base/1000 + 0.0004, e2e p99 = base + 0.4.
  assert.match(a, /^\*\*A\*\*: behind the same 200 ms window, request-level batching needs 0\.033 engine-seconds per 1,000 tokens against 0\.022 for the tick-level window/);
  assert.match(a, /Its p99 end-to-end latency is 33 s against 22 s for the tick-level window/);
  assert.match(b, /needs 0\.077 .* against 0\.066 .*latency is 77 s against 66 s/);
});

test('describeLoadUnderLimit(table) lists each replica\'s policies in table order with load and rate from its rows', () => {
  const limited = aq.from([
    { replica: 'A', policy: 'window', windowMs: 0, load: 0.934, ratePerSecond: 11.24 },
    { replica: 'A', policy: 'window', windowMs: 50, load: 0.712, ratePerSecond: 8.57 },
    { replica: 'B', policy: 'continuous', windowMs: null, load: 1.2, ratePerSecond: 3.01 },
  ]);
  assert.equal(
    describeLoadUnderLimit(limited),
    '**A**: W = 0 ms carries 93 % (11.2 req/s), W = 50 ms carries 71 % (8.6 req/s).\n\n**B**: continuous carries 120 % (3.0 req/s).',
  );
});

test('describeLoadUnderLimit(table): a policy that broke a limit at every load tried carries "less than" the lightest, naming the limit, never "0 %"', () => {
  const limited = aq.from([
    { replica: 'A', policy: 'window', windowMs: 0, load: 0.87, ratePerSecond: 21.04, brokenAtLoad: 0.88, brokenLimits: 'ttftP99' },
    { replica: 'A', policy: 'window', windowMs: 200, load: 0, ratePerSecond: 0, brokenAtLoad: 0.0234375, brokenLimits: 'itlP99' },
  ]);
  // 1.5 / 2^6 = 0.0234: the lightest load six bisection steps below 150 % reach.
  assert.equal(describeLoadUnderLimit(limited), '**A**: W = 0 ms carries 87 % (21.0 req/s), W = 200 ms carries less than 2.3 % (even that load breaks p99 inter-token latency).');
});

test('describeChange(what, a, b) says "leaves … at" when a and b agree at the shown precision, else "changes … from … to …"', () => {
  assert.equal(describeChange('engine time per 1,000 tokens', 96.12, 96.08, { unit: ' s' }), 'leaves engine time per 1,000 tokens at 96.1 s');
  assert.equal(describeChange('p99 latency', 0.5, 0.75, { digits: 2, unit: ' s' }), 'changes p99 latency from 0.50 s to 0.75 s');
  assert.throws(() => describeChange('x', Number.NaN, 1), (e: unknown) => e instanceof InputError && e.field === 'from');
  assert.throws(() => describeChange('', 1, 1), (e: unknown) => e instanceof InputError && e.field === 'what');
});

test('servingSweepRow(sweep, key) finds the row of a replica, load, window and policy; describe* name a point the sweep lacks', () => {
  assert.equal(servingSweepRow(sweep, { replica: 'A', load: 0.5, windowMs: 200, policy: 'static' }).meanBatch, 33.2);
  assert.equal(servingSweepRow(sweep, { replica: 'A', load: 0.8, windowMs: 0 }).meanBatch, 44.2);
  assert.throws(() => servingSweepRow(sweep, { replica: 'A', load: 0.8, windowMs: 200 }), (e: unknown) => e instanceof InputError && e.field === 'key');
  // Replica A has no 0.8-load row at W = 200.
  assert.throws(() => describeWindowEffect(sweep, { load: 0.8, from: 0, to: 200 }), InputError);
  assert.throws(() => describeWindowEffect(sweep, { load: Number.NaN, from: 0, to: 200 }), (e: unknown) => e instanceof InputError && e.field === 'load');
  assert.throws(() => describeStaticVsWindow([] as never, { load: 0.5, windowMs: 200 }), (e: unknown) => e instanceof InputError && e.field === 'sweep');
  assert.throws(() => describeLoadUnderLimit(aq.from([{ replica: 'A', policy: 'window', windowMs: 0, load: null, ratePerSecond: 1 }])), InputError);
});
