import { registerServingPolicy } from '../policy.js';
import { staticPolicy } from './static.js';
import { windowPolicy } from './window.js';
import { continuousPolicy } from './continuous.js';
import { chunkedPolicy } from './chunked.js';

registerServingPolicy(staticPolicy);
registerServingPolicy(windowPolicy);
registerServingPolicy(continuousPolicy);
registerServingPolicy(chunkedPolicy);

export { staticPolicy, windowPolicy, continuousPolicy, chunkedPolicy };
export type { StaticPolicy } from './static.js';
export type { WindowPolicy } from './window.js';
export type { ContinuousPolicy } from './continuous.js';
export type { ChunkedPolicy } from './chunked.js';
export { admitFifo, iterationStep, WAIT_FOR_EVENT, type StepPriority } from './common.js';
