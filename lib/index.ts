// batchlab public API: one re-export per domain (see CONTRIBUTING.md).
export * from './core/index.js';
export * from './util/index.js';
export * from './backend/index.js';
export * from './gemm/index.js';
export * from './cost/index.js';
export * from './hardware/index.js';
export * from './models/index.js';
export * from './roofline/index.js';
export * from './batching/index.js';
export * from './engine/index.js';
export * from './server/index.js';
export * from './moe/index.js';
export * from './pipeline/index.js';
export * from './plot/index.js';
export * from './report/index.js';
