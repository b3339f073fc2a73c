// Sweeps that fan out on a cluster scheduler: shard specs (from Slurm or Kubernetes
// indices), shard runs written atomically, merges that equal a single-process run,
// and GEMM results from many machines merged by machine fingerprint.
export { parseShard, shardRange, SHARD_INDEX_VARIABLES } from './shard.js';
export type { Shard } from './shard.js';
export { sweepSpecHash, runSweepShard, writeSweepShard, sweepShardFileName, mergeSweepShards, sweepResultText, readSweepShard, sweepShardContentHash, SWEEP_SHARD_FORMAT, MAX_SHARD_BYTES } from './run.js';
export type { SweepDefinition, SweepShardFile, SweepResult } from './run.js';
export { gemmMachineFingerprint, mergeGemmCsvFiles, mergedGemmCsv } from './gemm.js';
export type { MergedGemm } from './gemm.js';
export { servingSweepDefinition } from './serving.js';
export type { ServingSweepSpec } from './serving.js';
