export { rooflineMatmulCost, fractionalMatmulSeconds, opRoofline, ridgeIntensity, matmulCriticalBatch } from './matmul.js';
export type { OpRooflinePoint, RooflineBound } from './matmul.js';
export {
  rooflineStepCost,
  decodeStepTime,
  decodeThroughputCurve,
  decodeOpRoofline,
  prefillOpRoofline,
  decodeCriticalBatch,
  moeExpertBatch,
  decodeMemoryBatchLimit,
} from './model.js';
export type { RooflineOptions, DecodeThroughputPoint, OpRooflineRow } from './model.js';
