import { createRequest } from './engine-admission.js';
import { addItlGroup, growthKey, heldBlocks, unlinkRunning, type EngineState } from './engine-state.js';

/**
 * Request r leaves the system at t with its last token; its KV (reserved admission)
 * is freed. A closed loop's client thinks and sends its next request.
 *
 * @example
 * retireRequest(s, r, t); s.req.finish[r] // => t
 */
export function retireRequest(s: EngineState, r: number, t: number): void {
  s.req.finish[r] = t;
  s.req.phase[r] = 3;
  s.running--;
  if (s.blocks) {
    unlinkRunning(s, r);
  } else {
    s.kvUsed -= s.req.prompt[r] + s.req.output[r];
  }
  s.inSystem--;
  s.completed++;
  if (s.closed && s.created < s.n) {
    const think = s.R.nextThink();
    s.thinkSum += think;
    s.thinkCount++;
    createRequest(s, t + think);
  }
}

/**
 * The step in flight ends at t. A decoding step emits one token per decoding sequence
 * (recording each token's inter-token latency) and retires the sequences whose last
 * token it was; every prompt whose prefill it completed emits its first token (or,
 * after a preemption, its next one) and joins decoding, or leaves if that was its last.
 *
 * @example
 * completeStep(s, t); s.busy // => false
 */
export function completeStep(s: EngineState, t: number): void {
  s.busy = false;
  s.lastStepEnd = t;
  const stepDecoding = s.stepDecoding;
  const decoded = stepDecoding > 0;
  const { prompt, output, generated, phase, finishRound } = s.req;
  const itl = s.itl;
  const steady = s.itlSteady;
  const from = s.measureFrom;
  if (decoded) {
    s.decodeRounds++;
    s.emitted += stepDecoding;
    s.contextSum += stepDecoding;
    if (s.mainCount > 0) itl.add(t - s.lastDecodeEnd, s.mainCount);
    for (let g = 0; g < s.groups; g++) itl.add(t - s.groupTime[g], s.groupCount[g]);
    if (steady !== null) {
      if (s.mainM > 0) steady.add(t - s.lastDecodeEnd, s.mainM);
      for (let g = 0; g < s.groups; g++) if (s.groupM[g] > 0) steady.add(t - s.groupTime[g], s.groupM[g]);
    }
    s.groups = 0;
    s.mainCount = stepDecoding;
    s.mainM = s.stepDecodingM;
    s.lastDecodeEnd = t;
    // finishRound is the decode round that emits a sequence's last token.
    const finishing = s.finishing;
    const rounds = s.decodeRounds;
    while (finishing.length > 0 && (finishing.peekValue() as number) <= rounds) {
      const due = finishing.peekValue() as number;
      const r = finishing.pop() as number;
      if (phase[r] !== 2 || finishRound[r] !== due) continue; // preempted since
      if (s.blocks) {
        s.kvUsed -= heldBlocks(s, r);
        s.bucket[growthKey(s, r)]--;
      }
      s.contextSum -= prompt[r] + output[r];
      s.decoding--;
      s.mainCount--;
      if (r >= from) {
        s.decodingM--;
        s.mainM--;
      }
      retireRequest(s, r, t);
    }
  }
  let joined = 0;
  let joinedM = 0;
  const ring = s.prefillRing;
  while (ring.length > 0 && s.req.prefillLeft[ring.at(0)] === 0) {
    const r = ring.popFront();
    if (generated[r] === 0) s.req.firstToken[r] = t;
    else {
      itl.add(t - s.req.joinTime[r], 1);
      if (steady !== null && r >= from) steady.add(t - s.req.joinTime[r], 1);
    }
    s.emitted++;
    const g = generated[r] + 1;
    if (g === output[r]) {
      if (s.blocks) s.kvUsed -= heldBlocks(s, r);
      generated[r] = g;
      retireRequest(s, r, t);
    } else {
      generated[r] = g;
      phase[r] = 2;
      s.decoding++;
      joined++;
      if (r >= from) {
        s.decodingM++;
        joinedM++;
      }
      s.contextSum += prompt[r] + g;
      s.req.joinRound[r] = s.decodeRounds;
      s.req.joinTime[r] = t;
      const due = s.decodeRounds + output[r] - g;
      finishRound[r] = due;
      s.finishing.push(r, due);
      if (s.blocks) s.bucket[growthKey(s, r)]++;
    }
  }
  if (joined > 0) {
    if (decoded) {
      s.mainCount += joined;
      s.mainM += joinedM;
    } else addItlGroup(s, t, joined, joinedM);
  }
}
