export { hardwareFromJson, listHardware, loadHardware, hardwarePeakFlops, thisMachineHardware, THIS_MACHINE } from './spec.js';
export type { HardwareSpec, ThisMachineOptions } from './spec.js';
