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
