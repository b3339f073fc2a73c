import { ARRIVAL0, cachedPrefix, type EngineState } from './engine-state.js';

/**
 * Draws the next request's prompt and output lengths, stamps it to arrive at t and
 * schedules its arrival event. Returns its id.
 *
 * @example
 * const r = createRequest(s, 0); s.req.prompt[r] // => a prompt length from the config's source
 */
export function createRequest(s: EngineState, t: number): number {
  const r = s.created++;
  const p = s.R.nextPrompt();
  const o = s.R.nextOutput();
  s.req.arrival[r] = t;
  s.req.prompt[r] = p;
  s.req.output[r] = o;
  s.promptTotal += p;
  s.outputTotal += o;
  s.events.push(ARRIVAL0 + r, t);
  return r;
}

/**
 * Request r joins the system and the back of the queue. An open loop draws the next
 * arrival, so exactly one future arrival is pending at any time.
 *
 * @example
 * arriveRequest(s, 0); s.queue.length // => 1
 */
export function arriveRequest(s: EngineState, r: number): void {
  s.arrived++;
  s.inSystem++;
  s.queue.pushBack(r);
  if (!s.closed && s.created < s.n) createRequest(s, s.R.nextArrival());
}

/**
 * Arrivals tied with another event at t join the system first, so a request arriving
 * exactly at a step boundary or a tick is eligible for it.
 *
 * @example
 * absorbTies(s, t) // every arrival at or before t is queued
 */
export function absorbTies(s: EngineState, t: number): void {
  const events = s.events;
  if (s.closed) {
    while (events.length > 0 && (events.peekValue() as number) <= t && (events.peek() as number) >= ARRIVAL0) arriveRequest(s, (events.pop() as number) - ARRIVAL0);
  } else {
    while (s.arrived < s.created && s.req.arrival[s.arrived] <= t) arriveRequest(s, s.arrived);
  }
}

/**
 * Admits request r (new, or queued again after a preemption) at t: its KV is reserved
 * (reserved admission: prompt + output tokens; paged: the blocks of what it has to
 * prefill), a cached prefix is skipped, and it joins the prefill ring.
 *
 * @example
 * admitRequest(s, s.queue.popFront(), t); s.running // => one more
 */
export function admitRequest(s: EngineState, r: number, t: number): void {
  const fresh = s.req.phase[r] === 0;
  if (fresh) s.req.admitted[r] = t;
  const c = cachedPrefix(s, s.req.prompt[r]);
  const need = s.req.prompt[r] + s.req.generated[r] - c;
  if (fresh) s.cached += c;
  s.req.prefillLeft[r] = need;
  s.prefillPending += need;
  s.req.kvTokens[r] = c;
  s.req.phase[r] = 1;
  s.running++;
  if (s.blocks) {
    s.kvUsed += Math.ceil((s.req.prompt[r] + s.req.generated[r]) / s.blockTokens);
    s.prev[r] = s.runTail;
    s.next[r] = -1;
    if (s.runTail >= 0) s.next[s.runTail] = r;
    else s.runHead = r;
    s.runTail = r;
  } else {
    s.kvUsed += s.req.prompt[r] + s.req.output[r];
  }
  if (s.kvUsed > s.kvPeak) s.kvPeak = s.kvUsed;
  s.prefillRing.pushBack(r);
}

/**
 * Admits the first k queued requests at t, counting one admission instant when k > 0.
 *
 * @example
 * admitQueued(s, 2, t); s.admittedTotal // => two more
 */
export function admitQueued(s: EngineState, k: number, t: number): void {
  for (let i = 0; i < k; i++) admitRequest(s, s.queue.popFront(), t);
  if (k > 0) {
    s.admissions++;
    s.admittedTotal += k;
  }
}
