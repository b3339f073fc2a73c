// Pipeline-parallel inference: stage layouts, event-simulated schedules
// (fill–drain ticks, Megatron-style interleaving, token-by-token streaming),
// closed-form bubbles and the collection window that keeps them small.
export { pipelineLayout, pipelineLayerSeconds } from './layout.js';
export type { PipelineLayerCost, PipelineStageSpec, PipelineLayout } from './layout.js';
export { pipelineSchedule, PIPELINE_SCHEDULE_KINDS, PIPELINE_MAX_SLOTS } from './schedule.js';
export type { PipelineScheduleSpec, PipelineScheduleKind, PipelineSlot, PipelineRun } from './schedule.js';
export { pipelineBubbleFraction, pipelineTickClosedForm, pipelineCollectionWindow, pipelineBubbleSweep, pipelineWindowSweep } from './bubbles.js';
export type { PipelineTickClosedForm, PipelineCollectionWindow, PipelineBubbleRow, PipelineWindowRow } from './bubbles.js';
export { pipelineTransferSeconds } from './transfer.js';
export type { PipelineTransferOptions } from './transfer.js';
