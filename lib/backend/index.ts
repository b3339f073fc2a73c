export { detectBackends, selectBackend, activeBackend, tfjs, nativePackageName, BACKEND_NAMES } from './registry.js';
export type { BackendName, BackendStatus, SelectedBackend } from './registry.js';
export { deviceInfo } from './device.js';
export type { DeviceInfo } from './device.js';
