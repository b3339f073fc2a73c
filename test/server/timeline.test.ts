import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestTimelines, timelineMedians } from '../../lib/server/timeline.js';
import type { ServerRunLog } from '../../lib/server/timeline.js';
import { summariseLoad } from '../../lib/server/load.js';
import type { LoadRequestRecord } from '../../lib/server/load.js';
import { monotonicSeconds } from '../../lib/util/clock.js';

const rec = (index: number, id: string | undefined, send: number, first: number): LoadRequestRecord => ({ index, id, promptTokens: 4, outputTokens: 2, send, tokenTimes: [first, first + 0.05], tokens: [1, 2], finish: first + 0.05, status: 200 });

test('requestTimelines(run, log) places the server\'s times on the client\'s clock and splits each TTFT into its five parts', () => {
  // Client clock starts at monotonic 100.000 s; the server's loop clock at 100.250 s (shift 0.25 s).
  const run = summariseLoad([rec(0, 'cmpl-1', 0.2, 0.43), rec(1, 'cmpl-2', 0.3, 0.5), rec(2, undefined, 0.31, 0.6)], { url: 'x', workload: 'w', seed: 1 }, { monotonicStart: 100 });
  const log: ServerRunLog = {
    monotonicOrigin: 100.25,
    steps: [{ index: 0, start: 0.1, end: 0.17, nextDecision: 0.171, work: { prefillTokens: 4, decodeTokens: 0, contextTokens: 0 }, queued: 0, inSystem: 1, admitted: 1 }],
    arrivals: [
      { label: 'cmpl-1', received: -0.04, arrival: -0.0395, firstToken: 0.17, finish: 0.22, admitStep: 0, promptTokens: 4, outputTokens: 2 },
      // Admitted at a step the log does not hold: no timeline.
      { label: 'cmpl-2', received: 0.05, arrival: 0.051, firstToken: 0.3, finish: 0.35, admitStep: 9, promptTokens: 4, outputTokens: 2 },
    ],
  };
  const t = requestTimelines(run, log);
  assert.equal(t.length, 1);
  const x = t[0];
  // By hand: received 0.21 (client clock), submitted 0.2105, admitted 0.35, written 0.42, read 0.43, sent 0.2.
  assert.equal(x.id, 'cmpl-1');
  assert.ok(Math.abs(x.toHeaders - 0.01) < 1e-9, String(x.toHeaders));
  assert.ok(Math.abs(x.toSubmit - 0.0005) < 1e-9, String(x.toSubmit));
  assert.ok(Math.abs(x.toAdmit - 0.1395) < 1e-9, String(x.toAdmit));
  assert.ok(Math.abs(x.toFirstToken - 0.07) < 1e-9, String(x.toFirstToken));
  assert.ok(Math.abs(x.toClient - 0.01) < 1e-9, String(x.toClient));
  assert.ok(Math.abs(x.ttft - 0.23) < 1e-9);
  assert.equal(timelineMedians(t).requests, 1);
  // Without the server's monotonic origin nothing can be placed.
  assert.deepEqual(requestTimelines(run, { ...log, monotonicOrigin: NaN }), []);
});

test('monotonicSeconds(performance.now()) reads CLOCK_MONOTONIC, the clock of process.hrtime', () => {
  const a = Number(process.hrtime.bigint()) / 1e9;
  const m = monotonicSeconds(performance.now());
  const b = Number(process.hrtime.bigint()) / 1e9;
  assert.ok(m >= a - 1e-4 && m <= b + 1e-4, `${a} ≤ ${m} ≤ ${b}`);
  // A reading 1.5 s earlier is 1.5 s earlier on the monotonic clock.
  assert.ok(Math.abs(monotonicSeconds(performance.now() - 1500) - (m - 1.5)) < 0.01);
});
