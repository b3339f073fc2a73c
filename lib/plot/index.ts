// Chart builders: each returns a plain plotly figure spec ({ data, layout }).
export * from './types.js';
export * from './environment.js';
export * from './gemm.js';
export * from './roofline.js';
export * from './batching.js';
export * from './moe.js';
export * from './pipeline.js';
export * from './deployment.js';
export * from './attention.js';
export * from './server.js';
