// Performance primitives below every cost model: the roofline bound and critical batch
// (one home each), kernel calibration of a device, GEMM tile and wave quantization and
// collective costs. Imports only lib/core and lib/util, so that hardware (which
// validates calibrations), cost (which fits rooflines), roofline (which prices steps)
// and plot can all use it.
export { rooflineSeconds, matmulKneeBatch, weightStreamKneeBatch, smallestTrue } from './bound.js';
export { calibrationFromJson, calibrationGemmEfficiency, TYPICAL_CALIBRATION, SPEC_CALIBRATION, CALIBRATION_FIELDS, CALIBRATION_EVIDENCE } from './calibration.js';
export type { CalibrationEvidence } from './calibration.js';
export type { HardwareCalibration } from './calibration.js';
export { gemmComputeSeconds } from './gemm.js';
export type { GemmWork } from './gemm.js';
export { linkSeconds, ringAllReduceSeconds } from './collective.js';
export type { Link } from './collective.js';
