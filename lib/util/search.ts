/**
 * Smallest integer x in [lo, hi] with `pred(x)` true, for a predicate that is false
 * below some threshold and true from it on (monotone); Infinity when `pred(hi)` is
 * false. Bisection: O(log(hi − lo)) calls. With `guess`, the search first gallops up
 * from it (guess, 2·guess, 4·guess, … capped at hi), which costs O(log answer) calls
 * when the answer is far below `hi`. The one binary search of batchlab; callers
 * validate their bounds.
 *
 * @example
 * smallestIntegerWhere((x) => x * x >= 50, 1, 100) // => 8
 * smallestIntegerWhere((x) => x > 1000, 1, 100) // => Infinity
 * smallestIntegerWhere((x) => x >= 3e6, 1, 1e9, { guess: 1000 }) // => 3000000
 */
export function smallestIntegerWhere(pred: (x: number) => boolean, lo: number, hi: number, opts: { guess?: number } = {}): number {
  if (pred(lo)) return lo;
  // Invariant below: pred(below) is false and pred(above) is true.
  let below = lo;
  let above = hi;
  if (opts.guess !== undefined) {
    let g = Math.min(hi, Math.max(lo + 1, Math.ceil(opts.guess)));
    while (!pred(g)) {
      if (g >= hi) return Infinity;
      below = g;
      g = Math.min(hi, g * 2);
    }
    above = g;
  } else if (!pred(hi)) {
    return Infinity;
  }
  while (above - below > 1) {
    const mid = Math.floor((below + above) / 2);
    if (pred(mid)) above = mid;
    else below = mid;
  }
  return above;
}
