export {
  fitRoofline,
  fittedRooflineSeconds,
  fittedMatmulCost,
  fittedKneeBatch,
  rooflineFitError,
  heldOutFitError,
  alternateBatchSplit,
  rooflineFitPoints,
} from './fit.js';
export { ROOFLINE_FORMS } from './fit.js';
export type { RooflineFitPoint, RooflineFitOptions, RooflineFitError, RooflineForm, FittedRooflineWithForm } from './fit.js';
export { saveFittedRoofline, loadLatestFittedRoofline } from './store.js';
export type { StoredRooflineFit } from './store.js';
export { measuredMatmulCost, heldOutTableError, measuredMatmulCostForMachine } from './table.js';
export type { MeasuredMatmulCost } from './table.js';
export { fittedRooflineCurves, specRooflineCurves } from './curves.js';
export type { GemmModelCurve, GemmSpecLine } from './curves.js';
