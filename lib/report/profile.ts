import { InputError } from '../util/errors.js';

/**
 * How much a notebook measures. `quick` keeps the whole report under a few minutes
 * on a 2-core machine; `thorough` trades minutes for tighter statistics and wider
 * sweeps. Set once, by BATCHLAB_PROFILE, for humans and headless runs alike.
 */
export type ProfileName = 'quick' | 'thorough';

/** Repetition policy of one benchmark point (the fields of lib/gemm's TimingOptions the notebooks set). */
export interface ProfileTiming {
  /** Untimed calls first. */
  warmup: number;
  /** Timed repetitions at least. */
  minReps: number;
  /** Milliseconds of timed repetitions at least. */
  minTimeMs: number;
}

/**
 * Every size a notebook reads from the profile: notebooks never branch on the
 * profile's name, they read the number they need here.
 */
export interface NotebookProfile {
  name: ProfileName;
  /** Minimum measuring time per benchmark point, milliseconds. */
  minTimeMs: number;
  /** Minimum repetitions per benchmark point. */
  minReps: number;
  /** Requests per simulation run. */
  simRequests: number;
  /** Monte Carlo trials. */
  trials: number;
  /** Notebook 00: K = N of the square weight in the workbench batch sweep. */
  workbenchK: number;
  /** Notebook 01: timing of the GEMM sweep and the one-vs-many benchmark. */
  gemmTiming: ProfileTiming;
  /** Notebook 01: weight shapes (K, N) of the GEMM sweep. */
  gemmShapes: Array<{ k: number; n: number }>;
  /** Notebook 01: token counts B of "one matmul of B tokens vs B matmuls of one". */
  oneVsManyBatches: number[];
  /** Notebook 01: timing of the grouped-expert benchmark. */
  expertBenchTiming: ProfileTiming;
  /** Notebook 02: repetitions of the machine roofline probe. */
  probeReps: number;
  /** Notebook 02: decode batches of the throughput curves. */
  rooflineBatches: number[];
  /** Notebook 03: offered loads (fraction of capacity) of the collection-window sweep. */
  loads: number[];
  /**
   * Notebooks 02 and 03: independent repetitions of the machine roofline probe
   * (probeMachineRooflines); a figure derived from them is quoted as a median with its
   * p10–p90 over the repetitions.
   */
  machineProbeRepeats: number;
  /** Notebook 04: Monte Carlo trials of the routing sweep against batch size. */
  routingSweepTrials: number;
  /** Notebook 04: trials of the group-limited routing comparison. */
  groupRoutingTrials: number;
  /** Notebook 04: simulated steps per point of the expert-parallel imbalance sweep. */
  imbalanceSteps: number;
  /** Notebook 05: micro-batches per tick of the bubble sweep. */
  pipelineMicroBatches: number[];
  /** Notebook 06: rounds of the attention measurement (each times every strategy once). */
  attentionRounds: number;
  /** Notebook 06: timing of one attention point. */
  attentionTiming: ProfileTiming;
  /** Notebook 06: batch sizes of the attention length cases. */
  attentionBatches: number[];
  /** Notebook 07: largest batch the deployment search considers. */
  searchMaxBatch: number;
  /** Notebook 08: requests per measured server point. */
  serverRequests: number;
  /** Notebook 08: collection windows (ms) measured on the real server. */
  serverWindowsMs: number[];
  /** Notebook 08: batch caps of continuous batching measured on the real server. */
  serverBatchCaps: number[];
  /** Notebook 08: repetitions of the server's step-cost calibration. */
  serverCalibrateReps: number;
  /**
   * Notebooks 07 and 08: the engine measured beside its kernel-table prediction
   * (measureEngineVsLocal): the full Llama-3.2-1B, or a scaled copy that keeps the quick
   * report within minutes on 2 cores.
   */
  realSizeEngine: { scale?: { width: number; depth: number; vocab: number }; batches: number[]; rounds: number };
}

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

const PROFILES: Record<ProfileName, NotebookProfile> = {
  quick: {
    name: 'quick',
    minTimeMs: 150,
    minReps: 5,
    simRequests: 20_000,
    trials: 200,
    workbenchK: 2048,
    // Short points: the quick report must fit a few minutes on 2 cores.
    gemmTiming: { warmup: 1, minReps: 3, minTimeMs: 40 },
    // K = N = 1024, plus a tiny shape that shows the per-call overhead.
    gemmShapes: [{ k: 1024, n: 1024 }, { k: 64, n: 64 }],
    oneVsManyBatches: [1, 2, 4, 8, 16, 32, 64],
    expertBenchTiming: { warmup: 1, minReps: 3, minTimeMs: 40 },
    probeReps: 5,
    rooflineBatches: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536],
    loads: [0.2, 0.4, 0.6, 0.8, 0.95],
    machineProbeRepeats: 5,
    routingSweepTrials: 50,
    groupRoutingTrials: 20,
    imbalanceSteps: 25,
    // To 384: 16 stages need some 240 micro-batches for a 10 % bubble (report 05), and the chart must show the crossing.
    pipelineMicroBatches: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384],
    attentionRounds: 5,
    attentionTiming: { warmup: 1, minReps: 2, minTimeMs: 15 },
    attentionBatches: [8, 32],
    searchMaxBatch: 512,
    serverRequests: 24,
    serverWindowsMs: [0, 30, 120],
    serverBatchCaps: [2, 8],
    serverCalibrateReps: 3,
    // The full Llama-3.2-1B as in `thorough` (about 6 GB and a minute on 2 cores): the claim is about real size.
    realSizeEngine: { batches: [1, 8, 32], rounds: 3 },
  },
  thorough: {
    name: 'thorough',
    minTimeMs: 1000,
    minReps: 20,
    simRequests: 200_000,
    trials: 2_000,
    workbenchK: 4096,
    gemmTiming: { warmup: 2, minReps: 20, minTimeMs: 1000 },
    gemmShapes: [{ k: 1024, n: 1024 }, { k: 4096, n: 4096 }, { k: 64, n: 64 }],
    oneVsManyBatches: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    expertBenchTiming: { warmup: 1, minReps: 3, minTimeMs: 1000 },
    probeReps: 20,
    rooflineBatches: range(33, (i) => Math.round(2 ** (i / 2))),
    loads: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0],
    machineProbeRepeats: 9,
    routingSweepTrials: 500,
    groupRoutingTrials: 200,
    imbalanceSteps: 250,
    pipelineMicroBatches: range(384, (i) => i + 1),
    attentionRounds: 9,
    attentionTiming: { warmup: 2, minReps: 20, minTimeMs: 200 },
    attentionBatches: [8, 32, 64],
    searchMaxBatch: 2048,
    serverRequests: 80,
    serverWindowsMs: [0, 10, 30, 60, 120],
    serverBatchCaps: [1, 2, 4, 8, 16],
    serverCalibrateReps: 7,
    realSizeEngine: { batches: [1, 8, 32], rounds: 5 },
  },
};

/**
 * The measurement profile for this run: BATCHLAB_PROFILE, or `quick`.
 *
 * @example
 * notebookProfile().name // => 'quick' unless BATCHLAB_PROFILE=thorough
 * notebookProfile('thorough').workbenchK // => 4096
 */
export function notebookProfile(name: string | undefined = process.env.BATCHLAB_PROFILE): NotebookProfile {
  const n = name === undefined || name === '' ? 'quick' : name;
  if (n !== 'quick' && n !== 'thorough') throw new InputError('BATCHLAB_PROFILE', name, 'one of "quick", "thorough"');
  // A copy: a notebook that edits its profile must not change the next caller's.
  return structuredClone(PROFILES[n]);
}
