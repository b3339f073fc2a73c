/**
 * Lets pending I/O and signal handlers run: a loop of synchronous work awaits this between
 * its items, so Ctrl-C (an AbortSignal set by a SIGINT handler) is seen after the item in
 * progress instead of after the whole loop. A resolved promise is not enough: its
 * continuation runs before any I/O or signal callback.
 *
 * @example
 * for (const p of points) { await yieldToEventLoop(); if (signal.aborted) break; work(p); }
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
