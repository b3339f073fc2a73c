#!/usr/bin/env node
// Derives a prompt mix (data/traces/*-prompts.csv) from a Mooncake request trace
// (JSONL lines { timestamp, input_length, output_length, hash_ids }, 512-token prefix
// blocks; github.com/kvcache-ai/Mooncake, FAST25-release/traces). Each request's cached
// prefix is the run of its leading blocks that an earlier request of the trace already
// produced, times 512, capped at its prompt length − 1 (at least one token is computed),
// as a prefix cache that never evicts would serve it within the trace.
//
//   node scripts/prompt-mix-from-mooncake.mjs conversation_trace.jsonl "<provenance line>" > out.csv
import { readFileSync } from 'node:fs';

const [path, provenance] = process.argv.slice(2);
if (!path) {
  console.error('usage: prompt-mix-from-mooncake.mjs <trace.jsonl> ["provenance line"]');
  process.exit(2);
}
const BLOCK = 512;
const seen = new Set();
const rows = [];
readFileSync(path, 'utf8')
  .split('\n')
  .forEach((line, i) => {
    if (line.trim() === '') return;
    const r = JSON.parse(line);
    const L = r.input_length;
    if (!Number.isSafeInteger(L) || L < 1 || !Array.isArray(r.hash_ids)) throw new Error(`${path} line ${i + 1}: input_length and hash_ids expected`);
    let k = 0;
    while (k < r.hash_ids.length && seen.has(r.hash_ids[k])) k++;
    for (const h of r.hash_ids) seen.add(h);
    rows.push(`${L},${Math.min(k * BLOCK, L - 1)}`);
  });
const out = [];
if (provenance) out.push(`# ${provenance}`);
out.push(`# Derived by scripts/prompt-mix-from-mooncake.mjs: ${rows.length} requests; cached_tokens = leading ${BLOCK}-token blocks seen earlier in the trace, capped at prompt_tokens - 1.`);
out.push('prompt_tokens,cached_tokens', ...rows);
process.stdout.write(out.join('\n') + '\n');
