/**
 * US dollars as batchlab prints them everywhere: at least two decimals and at least two
 * significant digits, thousands grouped, so that $2.50 never sits beside $2.5 and a
 * price of $0.0178 keeps its digits ($0.018).
 *
 * @example
 * formatUsd(2.5) // => '$2.50'
 * formatUsd(0.0178) // => '$0.018'
 * formatUsd(1234.5) // => '$1,234.50'
 */
export function formatUsd(usd: number): string {
  if (!Number.isFinite(usd)) return usd > 0 ? '$∞' : usd < 0 ? '-$∞' : '$–';
  const a = Math.abs(usd);
  const decimals = a === 0 || a >= 1 ? 2 : Math.min(12, Math.max(2, 1 - Math.floor(Math.log10(a))));
  const text = a.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  return `${usd < 0 ? '-' : ''}$${text}`;
}
