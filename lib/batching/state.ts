/**
 * Per-request state of a serving run, as parallel typed arrays indexed by request id
 * (creation order), and the two FIFO rings the engine schedules from.
 */
export class RequestState {
  readonly arrival: Float64Array;
  /** First admission (the end of the queue wait). */
  readonly admitted: Float64Array;
  readonly firstToken: Float64Array;
  readonly finish: Float64Array;
  readonly prompt: Int32Array;
  readonly output: Int32Array;
  /** Tokens still to compute in the current prefill. */
  readonly prefillLeft: Int32Array;
  /** Tokens in KV during prefill (cached prefix plus chunks done): the next chunk's attention offset. */
  readonly kvTokens: Int32Array;
  /** Output tokens emitted when the sequence last joined decoding (or was preempted). */
  readonly generated: Int32Array;
  /** Decode rounds completed when the sequence joined decoding. */
  readonly joinRound: Float64Array;
  /** When the sequence joined decoding; after a preemption, when it last emitted. */
  readonly joinTime: Float64Array;
  /** The decode round its last token is due in (lazy deletion from the finishing heap). */
  readonly finishRound: Float64Array;
  /** 0 new, 1 prefilling, 2 decoding, 3 finished, 4 queued again after a preemption. */
  readonly phase: Uint8Array;

  constructor(n: number) {
    this.arrival = new Float64Array(n);
    this.admitted = new Float64Array(n);
    this.firstToken = new Float64Array(n);
    this.finish = new Float64Array(n);
    this.prompt = new Int32Array(n);
    this.output = new Int32Array(n);
    this.prefillLeft = new Int32Array(n);
    this.kvTokens = new Int32Array(n);
    this.generated = new Int32Array(n);
    this.joinRound = new Float64Array(n);
    this.joinTime = new Float64Array(n);
    this.finishRound = new Float64Array(n);
    this.phase = new Uint8Array(n);
  }
}

/** A fixed-capacity double-ended FIFO of request ids. */
export class IdRing {
  private readonly buf: Int32Array;
  private head = 0;
  length = 0;

  constructor(capacity: number) {
    this.buf = new Int32Array(Math.max(1, capacity));
  }

  at(i: number): number {
    const j = this.head + i;
    const cap = this.buf.length;
    return this.buf[j < cap ? j : j - cap];
  }

  pushBack(id: number): void {
    const cap = this.buf.length;
    if (this.length === cap) throw new Error('IdRing: capacity exceeded (simulator invariant broken)');
    const j = this.head + this.length;
    this.buf[j < cap ? j : j - cap] = id;
    this.length++;
  }

  pushFront(id: number): void {
    const cap = this.buf.length;
    if (this.length === cap) throw new Error('IdRing: capacity exceeded (simulator invariant broken)');
    this.head = this.head === 0 ? cap - 1 : this.head - 1;
    this.buf[this.head] = id;
    this.length++;
  }

  popFront(): number {
    const id = this.buf[this.head];
    this.head = this.head + 1 === this.buf.length ? 0 : this.head + 1;
    this.length--;
    return id;
  }

  popBack(): number {
    this.length--;
    const j = this.head + this.length;
    const cap = this.buf.length;
    return this.buf[j < cap ? j : j - cap];
  }
}
