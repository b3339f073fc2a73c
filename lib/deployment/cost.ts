import { InputError } from '../util/errors.js';
import { checkArray, checkFraction, checkInt, checkNumber, checkPositive } from '../util/validate.js';

/**
 * A daily load curve: consecutive segments of `hours[i]` hours at `relative[i]` times
 * the day's mean load. The hours must cover one day (sum to 24); the relative loads
 * are normalised so that their time-weighted mean is 1.
 */
export interface LoadCurve {
  hours: number[];
  relative: number[];
}

/** A day of load, in tokens. */
export interface DailyLoad {
  /** Input tokens per day, cache hits included. */
  inputTokens: number;
  /** Fraction of input tokens served from the prefix (KV) cache. */
  cacheHitFraction: number;
  outputTokens: number;
  /** How the load moves over the day (default: flat). */
  curve?: LoadCurve;
}

/** Token prices, USD per million tokens. */
export interface TokenPrices {
  cachedInput: number;
  input: number;
  output: number;
}

const DAY_HOURS = 24;

/**
 * Checks a load curve and returns it with relative loads normalised to a
 * time-weighted mean of 1. A curve whose hours do not sum to 24 is an InputError
 * naming `curve.hours`.
 *
 * @example
 * checkLoadCurve({ hours: [12, 12], relative: [1.5, 0.5] }).relative // => [1.5, 0.5]
 */
export function checkLoadCurve(curve: LoadCurve): LoadCurve {
  if (typeof curve !== 'object' || curve === null) throw new InputError('curve', curve, 'an object { hours, relative }');
  const hours = checkArray<number>('curve.hours', curve.hours, 10_000).map((h, i) => checkPositive(`curve.hours[${i}]`, h, DAY_HOURS));
  const rel = checkArray<number>('curve.relative', curve.relative, 10_000).map((r, i) => checkNumber(`curve.relative[${i}]`, r, { min: 0, max: 1e6 }));
  if (rel.length !== hours.length) throw new InputError('curve.relative', rel, `an array of ${hours.length} loads, one per segment of curve.hours`);
  const total = hours.reduce((a, b) => a + b, 0);
  if (Math.abs(total - DAY_HOURS) > 1e-9) {
    throw new InputError('curve.hours', total, 'segments that cover one day: hours summing to 24', `they sum to ${total} h`);
  }
  const mean = hours.reduce((a, h, i) => a + h * rel[i], 0) / DAY_HOURS;
  if (!(mean > 0)) throw new InputError('curve.relative', rel, 'loads with a positive mean');
  return { hours, relative: rel.map((r) => r / mean) };
}

/**
 * Checks a daily load; bad fields are InputErrors naming them.
 *
 * @example
 * checkDailyLoad({ inputTokens: 608e9, cacheHitFraction: 0.563, outputTokens: 168e9 }).outputTokens // => 168e9
 */
export function checkDailyLoad(load: DailyLoad): Required<DailyLoad> {
  if (typeof load !== 'object' || load === null) throw new InputError('load', load, 'an object { inputTokens, cacheHitFraction, outputTokens, curve? }');
  return {
    inputTokens: checkNumber('load.inputTokens', load.inputTokens, { min: 0, max: 1e18 }),
    cacheHitFraction: checkFraction('load.cacheHitFraction', load.cacheHitFraction),
    outputTokens: checkNumber('load.outputTokens', load.outputTokens, { min: 0, max: 1e18 }),
    curve: load.curve === undefined ? { hours: [DAY_HOURS], relative: [1] } : checkLoadCurve(load.curve),
  };
}

/**
 * A price per device-hour: positive and finite, or an InputError naming `field`.
 *
 * @example
 * checkPrice('pricePerDeviceHour', 2) // => 2
 */
export function checkPrice(field: string, price: unknown): number {
  return checkPositive(field, price, 1e6);
}

/**
 * Cost of a day at an average number of nodes: nodes × devices per node × price × 24 h.
 *
 * @example
 * dailyCostUsd(226.75, 8, 2) // => 87072 (DeepSeek's published day)
 */
export function dailyCostUsd(averageNodes: number, devicesPerNode: number, pricePerDeviceHour: number): number {
  checkNumber('averageNodes', averageNodes, { min: 0, max: 1e9 });
  checkInt('devicesPerNode', devicesPerNode, { min: 1, max: 1024 });
  return averageNodes * devicesPerNode * checkPrice('pricePerDeviceHour', pricePerDeviceHour) * DAY_HOURS;
}

/**
 * Revenue of a day's tokens at per-million prices, cache hits at the cached price.
 *
 * @example
 * dailyRevenueUsd({ inputTokens: 608e9, cacheHitFraction: 0.563, outputTokens: 168e9 }, { cachedInput: 0.14, input: 0.55, output: 2.19 })
 * // => about 562,000
 */
export function dailyRevenueUsd(load: DailyLoad, prices: TokenPrices): number {
  const l = checkDailyLoad(load);
  const p = checkPrices(prices);
  const cached = l.inputTokens * l.cacheHitFraction;
  return (cached * p.cachedInput + (l.inputTokens - cached) * p.input + l.outputTokens * p.output) / 1e6;
}

/**
 * Checks token prices: each positive.
 *
 * @example
 * checkPrices({ cachedInput: 0.14, input: 0.55, output: 2.19 }).output // => 2.19
 */
export function checkPrices(p: TokenPrices): TokenPrices {
  if (typeof p !== 'object' || p === null) throw new InputError('prices', p, 'an object { cachedInput, input, output } in USD per million tokens');
  return { cachedInput: checkPrice('prices.cachedInput', p.cachedInput), input: checkPrice('prices.input', p.input), output: checkPrice('prices.output', p.output) };
}

/**
 * Cost-profit margin as DeepSeek defines it: (revenue − cost) / cost.
 *
 * @example
 * costProfitMargin(562027, 87072) // => 5.4548 (545 %)
 */
export function costProfitMargin(revenueUsd: number, costUsd: number): number {
  checkNumber('revenueUsd', revenueUsd, { min: 0 });
  checkPositive('costUsd', costUsd);
  return (revenueUsd - costUsd) / costUsd;
}

/** What a pool delivers per device, for sizing and pricing it. */
export interface PoolRates {
  /** Input tokens per second per device, cache hits counted (prefill pool). */
  inputTokensPerSecondPerDevice: number;
  /** Output tokens per second per device (decode pool). */
  outputTokensPerSecondPerDevice: number;
  /** Device-seconds one cache-hit token costs (loading its KV), for splitting the prefill cost; default 0. */
  cachedTokenDeviceSeconds?: number;
  /** Devices of one prefill and one decode serving unit; pools grow in whole units. */
  prefillUnitDevices: number;
  decodeUnitDevices: number;
  /** Devices per node, for reporting nodes. */
  devicesPerNode: number;
}

/** A day of serving priced. */
export interface DayCost {
  /** Time-averaged devices in each pool. */
  prefillDevices: number;
  decodeDevices: number;
  averageNodes: number;
  peakNodes: number;
  deviceHours: number;
  costUsd: number;
  /** Served load over provisioned capacity, time-averaged. */
  utilisation: number;
  /** USD per million tokens of each kind. */
  perMillion: TokenPrices;
}

/**
 * Sizes and prices a day of serving: in each segment of the load curve, each pool
 * gets the devices its share of the load needs (whole serving units, or exact
 * fractions with `granularity: 'fractional'`, which is how an average of node-seconds
 * such as DeepSeek's 226.75 nodes counts). The prefill pool's cost is split between
 * cache-hit and computed input tokens by the device-seconds each takes; output tokens
 * carry the decode pool's cost.
 *
 * @example
 * priceDay(rates, { inputTokens: 608e9, cacheHitFraction: 0.563, outputTokens: 168e9 }, 2, { granularity: 'fractional' }).averageNodes
 */
export function priceDay(rates: PoolRates, load: DailyLoad, pricePerDeviceHour: number, opts: { granularity?: 'unit' | 'fractional' } = {}): DayCost {
  const l = checkDailyLoad(load);
  const price = checkPrice('pricePerDeviceHour', pricePerDeviceHour);
  const inRate = checkPositive('rates.inputTokensPerSecondPerDevice', rates.inputTokensPerSecondPerDevice);
  const outRate = checkPositive('rates.outputTokensPerSecondPerDevice', rates.outputTokensPerSecondPerDevice);
  const cts = checkNumber('rates.cachedTokenDeviceSeconds', rates.cachedTokenDeviceSeconds ?? 0, { min: 0, max: 1e6 });
  const pu = checkInt('rates.prefillUnitDevices', rates.prefillUnitDevices, { min: 1, max: 1 << 20 });
  const du = checkInt('rates.decodeUnitDevices', rates.decodeUnitDevices, { min: 1, max: 1 << 20 });
  const dpn = checkInt('rates.devicesPerNode', rates.devicesPerNode, { min: 1, max: 1024 });
  const fractional = (opts.granularity ?? 'unit') === 'fractional';
  const size = (need: number, unit: number): number => (fractional ? need : Math.ceil(need / unit - 1e-12) * unit);
  const secondsPerDay = DAY_HOURS * 3600;
  const meanIn = l.inputTokens / secondsPerDay;
  const meanOut = l.outputTokens / secondsPerDay;
  let pHours = 0;
  let dHours = 0;
  let peak = 0;
  for (let i = 0; i < l.curve.hours.length; i++) {
    const r = l.curve.relative[i];
    const p = r > 0 ? size((meanIn * r) / inRate, pu) : 0;
    const d = r > 0 ? size((meanOut * r) / outRate, du) : 0;
    pHours += p * l.curve.hours[i];
    dHours += d * l.curve.hours[i];
    peak = Math.max(peak, p + d);
  }
  const deviceHours = pHours + dHours;
  const costUsd = deviceHours * price;
  const need = l.inputTokens / inRate / 3600 + l.outputTokens / outRate / 3600;
  const cached = l.inputTokens * l.cacheHitFraction;
  const computed = l.inputTokens - cached;
  // Device-seconds per computed token: what is left of the prefill rate once cache hits have taken their share.
  const perInput = 1 / inRate;
  const cachedSeconds = cached * Math.min(cts, perInput);
  const computedSeconds = Math.max(0, l.inputTokens * perInput - cachedSeconds);
  const prefillCost = pHours * price;
  const share = cachedSeconds + computedSeconds > 0 ? cachedSeconds / (cachedSeconds + computedSeconds) : 0;
  const perM = (usd: number, tokens: number): number => (tokens > 0 ? usd / (tokens / 1e6) : 0);
  return {
    prefillDevices: pHours / DAY_HOURS,
    decodeDevices: dHours / DAY_HOURS,
    averageNodes: deviceHours / DAY_HOURS / dpn,
    peakNodes: peak / dpn,
    deviceHours,
    costUsd,
    utilisation: deviceHours > 0 ? need / deviceHours : 0,
    perMillion: { cachedInput: perM(prefillCost * share, cached), input: perM(prefillCost * (1 - share), computed), output: perM(dHours * price, l.outputTokens) },
  };
}

/** One request's device time and price on a colocated deployment (prefill and decode time-share each device). */
export interface RequestPrice {
  /** Device-seconds its prefill takes: computed prompt tokens over the prefill rate. */
  prefillDeviceSeconds: number;
  /** Device-seconds its decode takes: output tokens over the decode rate at the batch. */
  decodeDeviceSeconds: number;
  deviceSecondsPerRequest: number;
  usdPerRequest: number;
  /** The request's whole cost (prefill and decode) per output token, USD per million: the all-in price. */
  usdPerMillionOutput: number;
  /** Decode alone per output token, USD per million. */
  usdPerMillionOutputDecode: number;
  /** Prefill alone per input token (cache hits counted as input), USD per million. */
  usdPerMillionInputPrefill: number;
}

/**
 * The price of one request at full batch: the one pricing path `deploy` and `search`
 * share. Device-seconds are the computed prompt over the prefill rate plus the output
 * over the decode rate, both per device; a price of 0 (an owned machine) gives $0.
 * A load that leaves devices idle costs more per token: `usdPerMillionAtLoad` prices that.
 *
 * @example
 * requestPrice({ promptTokens: 2000, computedPromptTokens: 1400, outputTokens: 500,
 *   prefillTokensPerSecondPerDevice: 14000, decodeTokensPerSecondPerDevice: 1000, usdPerDeviceHour: 3.6 })
 * // => { deviceSecondsPerRequest: 0.6, usdPerRequest: 0.0006, usdPerMillionOutput: 1.2, ... }
 */
export function requestPrice(r: {
  promptTokens: number;
  computedPromptTokens: number;
  outputTokens: number;
  prefillTokensPerSecondPerDevice: number;
  decodeTokensPerSecondPerDevice: number;
  usdPerDeviceHour: number;
}): RequestPrice {
  const prompt = checkNumber('promptTokens', r.promptTokens, { min: 0, max: 1 << 30 });
  const computed = checkNumber('computedPromptTokens', r.computedPromptTokens, { min: 0, max: prompt });
  const out = checkNumber('outputTokens', r.outputTokens, { min: 1, max: 1 << 30 });
  const pre = checkPositive('prefillTokensPerSecondPerDevice', r.prefillTokensPerSecondPerDevice);
  const dec = checkPositive('decodeTokensPerSecondPerDevice', r.decodeTokensPerSecondPerDevice);
  const usdPerSecond = checkNumber('usdPerDeviceHour', r.usdPerDeviceHour, { min: 0, max: 1e6 }) / 3600;
  const prefillDeviceSeconds = computed / pre;
  const decodeDeviceSeconds = out / dec;
  const deviceSecondsPerRequest = prefillDeviceSeconds + decodeDeviceSeconds;
  return {
    prefillDeviceSeconds,
    decodeDeviceSeconds,
    deviceSecondsPerRequest,
    usdPerRequest: deviceSecondsPerRequest * usdPerSecond,
    usdPerMillionOutput: ((deviceSecondsPerRequest * usdPerSecond) / out) * 1e6,
    usdPerMillionOutputDecode: ((decodeDeviceSeconds * usdPerSecond) / out) * 1e6,
    usdPerMillionInputPrefill: prompt === 0 ? 0 : ((prefillDeviceSeconds * usdPerSecond) / prompt) * 1e6,
  };
}

/**
 * What a steady load pays per million output tokens on `devices` devices, idle time
 * included: the hourly bill over the tokens the load produces in an hour.
 *
 * @example
 * usdPerMillionAtLoad({ devices: 8, usdPerDeviceHour: 2.5, requestsPerSecond: 20, outputTokens: 500 }) // => 0.5556
 */
export function usdPerMillionAtLoad(a: { devices: number; usdPerDeviceHour: number; requestsPerSecond: number; outputTokens: number }): number {
  const devices = checkNumber('devices', a.devices, { min: 0, max: 1 << 30 });
  const price = checkNumber('usdPerDeviceHour', a.usdPerDeviceHour, { min: 0, max: 1e6 });
  const rate = checkPositive('requestsPerSecond', a.requestsPerSecond);
  const out = checkNumber('outputTokens', a.outputTokens, { min: 1, max: 1 << 30 });
  return ((devices * price) / 3600 / (rate * out)) * 1e6;
}
