// The shared vocabulary of batchlab: dtypes, matmul shapes and their FLOP and byte
// counts, the work of a step and the cost contracts. Nothing here imports the rest of lib.
export type { Dtype, MatmulShape, MatmulCostModel, StepWork, StepCostFn, FittedRoofline } from './types.js';
export { DTYPES, DTYPE_BYTES } from './types.js';
export { matmulFlops, matmulBytes, matmulWeightBytes, prefillAttentionPairs, checkPrefillSequences } from './matmul.js';
export { atLeastOnceProbability, expectedDistinctExperts } from './moe.js';
