#!/usr/bin/env node
// Turns a table of per-request lengths (a CSV with the header input_length,output_length,
// one row per dataset sample, as github.com/openshift-psap/performance-dashboard ships
// for MLPerf datasets under mlperf-data/summaries/) into a serving trace
// (data/traces/*.csv: timestamp,prompt_tokens,output_tokens) whose requests all arrive at
// time 0, as a benchmark's offline scenario issues them. Rows keep the table's order.
//
//   node scripts/trace-from-length-table.mjs lengths.csv "<provenance line>" > out.csv
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';

const [path, provenance] = process.argv.slice(2);
if (!path) {
  console.error('usage: trace-from-length-table.mjs <lengths.csv> ["provenance line"]');
  process.exit(2);
}
const records = parse(readFileSync(path, 'utf8'), { columns: true, skip_empty_lines: true });
const rows = records.map((r, i) => {
  const p = Number(r.input_length);
  const o = Number(r.output_length);
  if (!Number.isSafeInteger(p) || p < 1 || !Number.isSafeInteger(o) || o < 1) throw new Error(`${path} row ${i + 1}: input_length and output_length must be positive integers`);
  return `0,${p},${o}`;
});
const out = [];
if (provenance) out.push(`# ${provenance}`);
out.push(`# Derived by scripts/trace-from-length-table.mjs: ${rows.length} requests, every one at time 0 (an offline run issues them at once); output_tokens are the table's output_length.`);
out.push('timestamp,prompt_tokens,output_tokens', ...rows);
process.stdout.write(out.join('\n') + '\n');
