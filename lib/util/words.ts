/**
 * "1 device", "2 devices": a count with its noun in the right number, the count grouped
 * by thousands as batchlab prints counts.
 *
 * @example
 * countOf(1, 'device') // => '1 device'
 * countOf(12000, 'token') // => '12,000 tokens'
 * countOf(2, 'micro-batch', 'micro-batches') // => '2 micro-batches'
 */
export function countOf(n: number, noun: string, plural = `${noun}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? noun : plural}`;
}
