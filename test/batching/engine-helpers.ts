// Hand-made engine states for the tests of the engine's parts.
import { resolveServing, constantStepCost, type ServingConfig } from '../../lib/batching/index.js';
import { EngineState } from '../../lib/batching/engine-state.js';

/** An engine state over `requests` requests of fixed lengths, nothing drawn yet. */
export function handState(opts: Partial<ServingConfig> & { prompt?: number; output?: number } = {}): EngineState {
  const { prompt = 100, output = 3, ...rest } = opts;
  const config: ServingConfig = {
    arrivals: { kind: 'burst' },
    requests: 4,
    promptTokens: { kind: 'fixed', tokens: prompt },
    outputTokens: { kind: 'fixed', tokens: output },
    policy: { kind: 'continuous', maxBatch: 4 },
    stepCost: constantStepCost(0.01),
    ...rest,
  };
  return new EngineState(resolveServing(config, 1));
}
