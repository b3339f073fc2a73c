/** A link as collectives see it: a fixed latency per message round and an achieved bandwidth per direction. */
export interface Link {
  latencySeconds: number;
  bytesPerSecond: number;
}

/**
 * Seconds to move `bytes` over one link: α + bytes / β (0 for no bytes).
 *
 * @example
 * linkSeconds(1e6, { latencySeconds: 1e-5, bytesPerSecond: 1e11 }) // => 2e-5
 */
export function linkSeconds(bytes: number, link: Link): number {
  return bytes > 0 ? link.latencySeconds + bytes / link.bytesPerSecond : 0;
}

/**
 * A ring all-reduce of a `bytes` buffer over `devices` devices: each sends and receives
 * 2(d−1)/d of the buffer over its link. The latency is paid once per collective, as
 * measured for whole collective kernels (per-step latencies are not published).
 *
 * @example
 * ringAllReduceSeconds(1e6, 4, { latencySeconds: 0, bytesPerSecond: 1e11 }) // => 1.5e-5
 */
export function ringAllReduceSeconds(bytes: number, devices: number, link: Link): number {
  if (devices <= 1 || bytes <= 0) return 0;
  return link.latencySeconds + (((2 * (devices - 1)) / devices) * bytes) / link.bytesPerSecond;
}
