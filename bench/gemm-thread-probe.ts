// Child process of bench/gemm-vs-reference.ts --thorough: medians of X·W and of X·W^T
// (W stored [N×K]), K = N = 4096, under the TensorFlow environment it was started with
// (TensorFlow reads its thread and oneDNN settings once per process).
import { selectBackend } from '../lib/backend/index.js';
import { timeTfOp } from '../lib/gemm/index.js';

const { tf } = await selectBackend('auto', { log: () => {} });
const w = tf.randomUniform([4096, 4096]);
const wt = tf.transpose(w);
const out: string[] = [];
const timing = { warmup: 2, minReps: 5, minTimeMs: 300 };
for (const m of [1, 8, 64, 256, 1024]) {
  const x = tf.randomUniform([m, 4096]);
  const plain = (await timeTfOp(() => tf.matMul(x, w), timing)).stats.median;
  const trans = (await timeTfOp(() => tf.matMul(x, wt, false, true), timing)).stats.median;
  out.push(`M=${m} ${(plain * 1e3).toFixed(2)}/${(trans * 1e3).toFixed(2)} ms`);
  x.dispose();
}
tf.dispose([w, wt]);
console.log(`${out.join(', ')} (X·W / X·W^T)`);
