// Child process of bench/gemm-vs-reference.ts --thorough: M = 1 and M = 64 medians of
// X·W (K = N = 4096) under the TensorFlow environment it was started with.
import { selectBackend } from '../lib/backend/index.js';
import { timeTfOp } from '../lib/gemm/index.js';

const { tf } = await selectBackend('auto', { log: () => {} });
const w = tf.randomUniform([4096, 4096]);
const out: string[] = [];
for (const m of [1, 64]) {
  const x = tf.randomUniform([m, 4096]);
  out.push(`M=${m} ${((await timeTfOp(() => tf.matMul(x, w), { warmup: 2, minReps: 5, minTimeMs: 300 })).stats.median * 1e3).toFixed(3)} ms`);
  x.dispose();
}
w.dispose();
console.log(out.join(', '));
