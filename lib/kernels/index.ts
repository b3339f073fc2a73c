export type { KernelAnswer, KernelAnswerKind, KernelOp, KernelOpSchema, KernelRow, KernelRowSource } from './schema.js';
export { KERNEL_OPS, KERNEL_SCHEMA } from './schema.js';
export type { KernelTable } from './table.js';
export { kernelKey, kernelTableFromRows, lookupKernel } from './table.js';
export type { KernelDb, KernelTableEntry } from './load.js';
export { compareKernelVersions, defaultKernelDb, loadKernelDb, readKernelRows } from './load.js';
export type { ContextAttentionQuery, GenerationAttentionQuery, KernelFramework, KernelPricer, KernelScope, MlaQuery, MoeQuery } from './pricer.js';
export { KERNEL_FRAMEWORKS, kernelPricer } from './pricer.js';
