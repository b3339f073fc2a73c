/**
 * "1 device", "2 devices": a count with its noun in the right number, the count grouped
 * by thousands as batchlab prints counts (`grouped` false: as a run's provenance text
 * writes it, "1500 requests", which saved runs and golden cases compare).
 *
 * @example
 * countOf(1, 'device') // => '1 device'
 * countOf(12000, 'token') // => '12,000 tokens'
 * countOf(2, 'micro-batch', 'micro-batches') // => '2 micro-batches'
 * countOf(1500, 'request', undefined, false) // => '1500 requests'
 */
export function countOf(n: number, noun: string, plural = `${noun}s`, grouped = true): string {
  return `${grouped ? n.toLocaleString('en-US') : String(n)} ${n === 1 ? noun : plural}`;
}

/**
 * A figure for a person to read: grouped digits from 1,000 up, else `digits` significant
 * digits, so that nothing non-zero prints as 0 (it printed "0.0 tokens/s" for 6.66e-11).
 *
 * @example
 * fmtFigure(6.66e-11) // => '6.66e-11'
 * fmtFigure(48123.4) // => '48,123'
 * fmtFigure(0.0125) // => '0.0125'
 */
export function fmtFigure(x: number, digits = 3): string {
  // Rounded first: 999.96 at three digits is 1,000, and prints so.
  const r = Number(x.toPrecision(digits));
  if (Math.abs(r) >= 1000) return Math.round(Math.abs(x) >= 1000 ? x : r).toLocaleString('en-US');
  return r.toString();
}
