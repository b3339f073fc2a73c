export type { Dtype, MatmulShape, MatmulCostModel, StepWork, StepCostFn, FittedRoofline } from './types.js';
export { DTYPES, DTYPE_BYTES } from './types.js';
