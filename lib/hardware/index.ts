export { hardwareFromJson, listHardware, loadHardware, hardwarePeakFlops, thisMachineHardware, THIS_MACHINE, resolveHardware, hardwareWithPrice } from './spec.js';
export { USABLE_MEMORY_FRACTION } from './spec.js';
export type { HardwareSpec, ThisMachineOptions } from './spec.js';
export { computeKernelDonor } from './spec.js';
