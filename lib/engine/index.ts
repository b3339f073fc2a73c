export { engineConfigFromHf, engineConfigFromSpec, scaleEngineConfig, engineParamCount, engineModelSpec, MAX_ENGINE_CONTEXT } from './config.js';
export type { EngineConfig, EngineScale } from './config.js';
export { seededWeights, expectedWeightShapes, checkEngineWeights, MAX_ENGINE_PARAMS } from './weights.js';
export type { EngineWeights, HostTensor } from './weights.js';
export { readSafetensors, writeSafetensors, loadSafetensorsDir, saveSafetensors } from './safetensors.js';
export { DecodeEngine } from './model.js';
export type { EngineSegment } from './model.js';
export { measureEngineStepCost, fitEngineStepCost, engineStepCost, defaultStepCostGrid, pointWork, probeEngineSpeed, scaleStepCostFit, fitStepCostSamples } from './stepcost.js';
export type { EngineStepCostFit, EngineStepCostPoint, StepCostGrid, StepSample } from './stepcost.js';
