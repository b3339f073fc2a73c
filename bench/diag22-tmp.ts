import { publishedCases, predictPublishedCase } from '../lib/roofline/published.js';
import { memoryFit } from '../lib/roofline/deployment.js';
import { loadModel } from '../lib/models/spec.js';
import { loadHardware } from '../lib/hardware/spec.js';
for (const c of publishedCases().filter((x) => x.id.startsWith('trtllm-llama'))) {
  const db = predictPublishedCase(c, { framework: 'trtllm' });
  const b = db.step.breakdown;
  const ms = (x: number) => (x * 1e3).toFixed(2);
  const model = loadModel(c.model); const hw = loadHardware(c.hardware);
  const cfg = { parallelism: { devicesPerNode: c.devicesPerNode, ...c.parallelism }, precision: c.precision } as any;
  const e = memoryFit(model, hw, cfg, { batch: 0, context: c.promptTokens! + c.outputTokens!, tokens: 0 });
  console.log(`${c.id} err ${(db.error*100).toFixed(1)} seqs ${db.sequencesPerDevice! * c.devices} step ${ms(db.step.seconds)} ms gemm ${ms(b.gemmSeconds)} attn ${ms(b.attentionSeconds)} elem ${ms(b.elementwiseSeconds)} launch ${ms(b.launchSeconds)} tp ${ms(b.tensorParallelSeconds)} exposed ${ms(b.exposedCommunicationSeconds)} | W ${(e.weightBytes/1e9).toFixed(1)}GB cap ${(e.capacityBytes/1e9).toFixed(1)} act ${(e.activationBytes/1e9).toFixed(2)}`);
  for (const u of db.step.kernels ?? []) console.log(`    ${u.op} ${u.kind} ${u.from} calls ${u.calls} rows ${u.rows}`);
}
