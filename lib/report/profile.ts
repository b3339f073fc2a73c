import { InputError } from '../util/errors.js';

/**
 * How much a notebook measures. `quick` keeps the whole report under a few minutes
 * on a 2-core machine; `thorough` trades minutes for tighter statistics and wider
 * sweeps. Set once, by BATCHLAB_PROFILE, for humans and headless runs alike.
 */
export type ProfileName = 'quick' | 'thorough';

export interface NotebookProfile {
  name: ProfileName;
  /** Multiplier on repetitions, sample counts and sweep density. */
  scale: number;
  /** Minimum measuring time per benchmark point, milliseconds. */
  minTimeMs: number;
  /** Minimum repetitions per benchmark point. */
  minReps: number;
  /** Requests per simulation run. */
  simRequests: number;
  /** Monte Carlo trials. */
  trials: number;
}

const PROFILES: Record<ProfileName, NotebookProfile> = {
  quick: { name: 'quick', scale: 1, minTimeMs: 150, minReps: 5, simRequests: 20_000, trials: 200 },
  thorough: { name: 'thorough', scale: 4, minTimeMs: 1000, minReps: 20, simRequests: 200_000, trials: 2_000 },
};

/**
 * The measurement profile for this run: BATCHLAB_PROFILE, or `quick`.
 *
 * @example
 * notebookProfile().name // => 'quick' unless BATCHLAB_PROFILE=thorough
 */
export function notebookProfile(name: string | undefined = process.env.BATCHLAB_PROFILE): NotebookProfile {
  const n = name === undefined || name === '' ? 'quick' : name;
  if (n !== 'quick' && n !== 'thorough') throw new InputError('BATCHLAB_PROFILE', name, 'one of "quick", "thorough"');
  return PROFILES[n];
}
