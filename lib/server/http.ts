import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InputError, described } from '../util/errors.js';
import type { ServingLoop } from './loop.js';
import { probeEngineSpeed } from '../engine/stepcost.js';
import type { EngineStepCostFit } from '../engine/stepcost.js';
import { StopMatcher, checkSampling, checkStop, requestSampler } from './sampling.js';
import type { SamplingParams } from './sampling.js';

/** Largest request body accepted (a 32k-token prompt as a JSON array fits). */
export const MAX_BODY_BYTES = 1 << 20;

/** Options of the HTTP front end. */
export interface CompletionServerOptions {
  /** Port on 127.0.0.1 (0: any free port). */
  port?: number;
  /** The model name the endpoint reports and accepts (any name is accepted when absent). */
  model?: string;
  /** Seed of the sampling streams of requests that name no seed (default 0). */
  seed?: number;
  /** A measured step cost to publish at GET /batchlab/step-cost. */
  stepCost?: () => EngineStepCostFit | undefined;
  /** A server bound beforehand by bindServer (its port then comes from it, not `port`). */
  server?: Server;
}

/** A running server: its address and a graceful stop. */
export interface CompletionServer {
  url: string;
  port: number;
  server: Server;
  /** Stops accepting, finishes every accepted request, then closes. */
  close(): Promise<void>;
}

/**
 * The text of one token: its id in decimal after a space. The engine has no trained
 * tokenizer, so a completion's text spells the token ids it generated, in order.
 *
 * @example
 * tokenText(42) // => ' 42'
 */
export function tokenText(id: number): string {
  return ` ${id}`;
}

/**
 * A prompt as token ids: an array of ids is taken as is; a string is its UTF-8 bytes
 * (ids 0-255, a byte-level tokenizer). A list of one prompt (`["hi"]`, `[[1, 2]]`), which
 * OpenAI's API reads as a batch of one, is that prompt; a batch of several is refused.
 *
 * @example
 * promptTokens('hi') // => [104, 105]
 * promptTokens([[7, 8]]) // => [7, 8]
 */
export function promptTokens(prompt: unknown): number[] {
  if (typeof prompt === 'string') {
    if (prompt.length === 0) throw new InputError('prompt', prompt, 'a non-empty string or array of token ids');
    return [...new TextEncoder().encode(prompt)];
  }
  if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((t) => typeof t === 'number')) return prompt as number[];
  const single = Array.isArray(prompt) && prompt.length === 1 ? prompt[0] : undefined;
  if (typeof single === 'string' || (Array.isArray(single) && single.every((t) => typeof t === 'number'))) return promptTokens(single);
  if (Array.isArray(prompt) && prompt.length > 1 && prompt.every((p) => typeof p === 'string' || Array.isArray(p))) {
    throw new InputError('prompt', described(`a batch of ${prompt.length} prompts`), 'one prompt per request (a string, an array of token ids, or a list holding one of them)');
  }
  throw new InputError('prompt', prompt, 'one prompt: a non-empty string or a non-empty array of token ids');
}

// The method each route answers: a 405 names it in its Allow header (RFC 9110, 15.5.6).
const ROUTE_METHODS: Readonly<Record<string, string>> = {
  '/v1/completions': 'POST',
  '/v1/chat/completions': 'POST',
  '/v1/models': 'GET',
  '/batchlab/metrics': 'GET',
  '/batchlab/reset': 'POST',
  '/batchlab/step-cost': 'GET',
  '/batchlab/speed': 'POST',
};

function sendError(res: ServerResponse, status: number, message: string, param: string | null, code: string | null, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param, code } });
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** A body over MAX_BODY_BYTES: refused with a 413 once read and discarded. */
class BodyTooLarge extends InputError {}

/** Bytes of an oversized body read and thrown away before the connection is closed (so the client sees the 413). */
const MAX_DISCARD_BYTES = 64 << 20;

function readBody(req: IncomingMessage, onBytes: () => void = () => {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let refused: BodyTooLarge | null = null;
    const refuse = (bytes: string): void => {
      refused = new BodyTooLarge('body', described(bytes), `at most ${MAX_BODY_BYTES} bytes`);
      parts.length = 0;
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) refuse(`${declared} bytes (content-length)`);
    req.on('data', (c: Buffer) => {
      onBytes();
      size += c.length;
      if (refused) {
        // Read and drop the rest, bounded: a 413 sent (and the connection closed) while the
        // client still sends resets the connection before the client reads it.
        if (size > MAX_DISCARD_BYTES) {
          req.destroy();
          reject(refused);
        }
        return;
      }
      if (size > MAX_BODY_BYTES) return refuse(`more than ${MAX_BODY_BYTES} bytes`);
      parts.push(c);
    });
    req.on('end', () => {
      if (refused) reject(refused);
      else resolve(Buffer.concat(parts).toString('utf8'));
    });
    // A client that goes away mid-body settles the read (the promise keeps the first outcome).
    req.on('error', (e) => reject(refused ?? e));
    req.on('close', () => {
      if (!req.complete) reject(refused ?? new Error('the client closed the connection before the body ended'));
    });
  });
}

/** Request fields of the two endpoints: those served, and those refused unless they ask for nothing (null, false, 0, 1, {}). */
const COMMON_FIELDS = ['model', 'max_tokens', 'stream', 'stream_options', 'temperature', 'top_p', 'top_k', 'seed', 'stop', 'n', 'user'];
const INERT: Record<string, (v: unknown) => boolean> = {
  logprobs: (v) => v === false,
  top_logprobs: (v) => v === 0,
  echo: (v) => v === false,
  best_of: (v) => v === 1,
  presence_penalty: (v) => v === 0,
  frequency_penalty: (v) => v === 0,
  logit_bias: (v) => !!v && typeof v === 'object' && Object.keys(v).length === 0,
  suffix: (v) => v === '',
};
const FIELDS = {
  completions: new Set([...COMMON_FIELDS, 'prompt', 'logprobs', 'echo', 'best_of', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'suffix']),
  chat: new Set([...COMMON_FIELDS, 'messages', 'max_completion_tokens', 'logprobs', 'top_logprobs', 'presence_penalty', 'frequency_penalty', 'logit_bias']),
};

/**
 * The plain chat template: one `role: content` line per message, then `assistant:` for
 * the reply to follow. Content is a string or an array of `{ type: 'text', text }` parts.
 *
 * @example
 * chatPrompt([{ role: 'user', content: 'hi' }]) // => 'user: hi\nassistant:'
 */
export function chatPrompt(messages: unknown): string {
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > 10_000) throw new InputError('messages', messages, 'a non-empty array of { role, content } messages');
  const lines = messages.map((m, i) => {
    const msg = m as { role?: unknown; content?: unknown };
    if (!msg || typeof msg !== 'object' || !['system', 'developer', 'user', 'assistant'].includes(msg.role as string)) {
      throw new InputError(`messages[${i}].role`, msg?.role, '"system", "developer", "user" or "assistant"');
    }
    let content: string;
    if (typeof msg.content === 'string') content = msg.content;
    else if (Array.isArray(msg.content) && msg.content.every((p) => p && (p as { type?: unknown }).type === 'text' && typeof (p as { text?: unknown }).text === 'string')) {
      content = (msg.content as Array<{ text: string }>).map((p) => p.text).join('');
    } else throw new InputError(`messages[${i}].content`, msg.content, "a string or an array of { type: 'text', text } parts");
    return `${msg.role}: ${content}\n`;
  });
  return `${lines.join('')}assistant:`;
}

/** What a completion or chat request asks for, validated. */
interface ParsedRequest {
  prompt: number[];
  maxTokens: number;
  /** The field that set maxTokens, to name in a refusal. */
  maxTokensField: 'max_tokens' | 'max_completion_tokens';
  stream: boolean;
  includeUsage: boolean;
  sampling: SamplingParams;
  stop: string[];
}

function parseRequest(kind: 'completions' | 'chat', body: Record<string, unknown>, model: string, strictModel: boolean): ParsedRequest {
  for (const [k, v] of Object.entries(body)) {
    if (!FIELDS[kind].has(k)) throw new InputError(k, v, 'absent (this server does not support the field)');
    if (INERT[k] && v !== null && v !== undefined && !INERT[k](v)) throw new InputError(k, v, 'absent or null (not supported by this server)');
  }
  const prompt = kind === 'chat' ? promptTokens(chatPrompt(body.messages)) : promptTokens(body.prompt);
  const given = (v: unknown): boolean => v !== undefined && v !== null;
  // OpenAI's chat API replaced max_tokens by max_completion_tokens; two different limits in one request leave it unclear which was meant.
  if (kind === 'chat' && given(body.max_tokens) && given(body.max_completion_tokens) && body.max_tokens !== body.max_completion_tokens) {
    throw new InputError('max_tokens/max_completion_tokens', described(`${JSON.stringify(body.max_tokens)} and ${JSON.stringify(body.max_completion_tokens)}`), 'one of the two, or both equal (they set the same limit)');
  }
  const maxTokensField = kind === 'chat' && given(body.max_completion_tokens) ? 'max_completion_tokens' : 'max_tokens';
  const raw = body[maxTokensField];
  const maxTokens = raw === undefined || raw === null ? 16 : (raw as number);
  if (!Number.isSafeInteger(maxTokens) || maxTokens < 1) throw new InputError(maxTokensField, raw, 'an integer ≥ 1');
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw new InputError('n', body.n, '1 (one completion per request)');
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') throw new InputError('stream', body.stream, 'a boolean');
  const stream = body.stream === true;
  const so = body.stream_options;
  if (so !== undefined && so !== null) {
    if (!stream) throw new InputError('stream_options', so, 'absent unless stream is true');
    if (typeof so !== 'object' || Array.isArray(so) || Object.entries(so).some(([k, v]) => k !== 'include_usage' || typeof v !== 'boolean')) {
      throw new InputError('stream_options', so, '{ include_usage: boolean }');
    }
  }
  const sampling = checkSampling(body);
  const stop = checkStop(body.stop);
  if (body.model !== undefined && strictModel && body.model !== model) throw new InputError('model', body.model, `"${model}"`);
  return { prompt, maxTokens, maxTokensField, stream, includeUsage: stream && (so as { include_usage?: boolean } | null)?.include_usage === true, sampling, stop };
}

/**
 * Binds an HTTP server to 127.0.0.1:`port` (0: any free port) before anything slow runs,
 * so that a port in use is refused at once (an InputError naming `port`) rather than after
 * minutes of building and calibrating an engine. Until startCompletionServer takes it over
 * (its `server` option) it answers every request with a 503 saying the server is starting.
 *
 * @example
 * const server = await bindServer(8000); // throws "port must be a port free on 127.0.0.1 ...; got 8000 (listen EADDRINUSE ...)" when taken
 * const srv = await startCompletionServer(loop, { server });
 */
export async function bindServer(port: number): Promise<Server> {
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new InputError('port', port, 'an integer in [0, 65535]');
  const server = createServer((_req, res) => sendError(res, 503, 'the server is starting (building or calibrating its engine)', null, 'unavailable'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      // Taken or not allowed is the user's choice of port; anything else is not about the port.
      reject(e.code === 'EADDRINUSE' || e.code === 'EACCES' ? new InputError('port', port, 'a port free on 127.0.0.1 that this user may bind (0: any free port)', e.message) : e);
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}

/**
 * An OpenAI-compatible completions endpoint on 127.0.0.1 in front of a ServingLoop:
 * `POST /v1/completions` and `POST /v1/chat/completions` (a plain chat template, see
 * chatPrompt; stream true: server-sent events, `text_completion` or
 * `chat.completion.chunk` chunks, then `data: [DONE]`; stream false: one JSON body),
 * `GET /v1/models` and `GET /v1/models/{id}`, and `GET /batchlab/metrics`,
 * `POST /batchlab/reset` (optionally `{ policy }` to switch policy while idle),
 * `GET /batchlab/step-cost` and `POST /batchlab/speed` (the engine's speed now against its
 * measured step cost) for measurement runs. Sampling follows `temperature` (absent or 0:
 * greedy), `top_p`, `top_k` and `seed`; `stop` strings end a completion with
 * `finish_reason: "stop"`. Bad input is a 400 with an OpenAI-style error body naming the
 * field (malformed JSON, max_tokens < 1, temperature outside [0, 2], a non-boolean
 * stream, `logprobs`, `echo`, `best_of` or any field the server does not serve, prompt +
 * max_tokens beyond the context with code `context_length_exceeded`, naming max_tokens
 * when it alone leaves no room for a prompt; a chat request's max_tokens and
 * max_completion_tokens when both are given and differ); `GET /v1/models` reports the
 * context as `max_model_len`, as vLLM does; a body over
 * MAX_BODY_BYTES is a 413; a client that disconnects cancels its request. Between engine
 * steps the loop waits until every request that has arrived is read (see
 * ServingLoop.noteIntake), so simultaneous requests on fresh connections reach the same
 * step.
 *
 * @example
 * const srv = await startCompletionServer(loop, { port: 0, model: 'batchlab' });
 * // new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'none' }).chat.completions.create({ model: 'batchlab', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 })
 * await srv.close();
 */
export async function startCompletionServer(loop: ServingLoop, opts: CompletionServerOptions = {}): Promise<CompletionServer> {
  const model = opts.model ?? 'batchlab';
  const serverSeed = opts.seed ?? 0;
  let closing = false;
  const started = Math.floor(Date.now() / 1000);
  let counter = 0;
  // max_model_len as vLLM's /v1/models reports it, so that a client can check a request's length before sending it.
  const modelCard = { id: model, object: 'model', created: started, owned_by: 'batchlab', max_model_len: loop.engine.config.maxContext };

  async function completions(kind: 'completions' | 'chat', req: IncomingMessage, res: ServerResponse, receivedAt: number): Promise<void> {
    let body: Record<string, unknown>;
    try {
      const text = await readBody(req, () => loop.noteIntake());
      const parsed: unknown = JSON.parse(text);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SyntaxError('the body is not a JSON object');
      body = parsed as Record<string, unknown>;
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        res.setHeader('connection', 'close');
        return sendError(res, 413, e.message, 'body', 'body_too_large');
      }
      return sendError(res, 400, `malformed JSON body: ${(e as Error).message}`, null, 'invalid_json');
    }
    let q: ParsedRequest;
    try {
      q = parseRequest(kind, body, model, opts.model !== undefined);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      return sendError(res, e.field === 'model' ? 404 : 400, e.message, e.field, e.field === 'model' ? 'model_not_found' : null);
    }
    const chat = kind === 'chat';
    const id = `${chat ? 'chatcmpl' : 'cmpl'}-${++counter}`;
    const created = Math.floor(Date.now() / 1000);
    const object = chat ? 'chat.completion.chunk' : 'text_completion';
    const choice = (text: string | null, finish: string | null): Record<string, unknown> =>
      chat ? { index: 0, delta: text === null ? {} : { content: text }, logprobs: null, finish_reason: finish } : { text: text ?? '', index: 0, logprobs: null, finish_reason: finish };
    const chunk = (text: string | null, finish: string | null): string => `data: ${JSON.stringify({ id, object, created, model, choices: [choice(text, finish)] })}\n\n`;
    const matcher = new StopMatcher(q.stop);
    const tokens: number[] = [];
    let out = '';
    let finishReason = 'length';
    let handle: { cancel: () => void; finish: () => void } | undefined;
    let finished = false;
    const sampler = requestSampler(q.sampling, serverSeed, id);
    try {
      handle = loop.submit(
        q.prompt,
        q.maxTokens,
        {
          token: (t) => {
            tokens.push(t);
            const m = matcher.push(tokenText(t));
            let text = m.text;
            let finish: string | null = null;
            if (m.stopped) finish = finishReason = 'stop';
            else if (tokens.length >= q.maxTokens) {
              text += matcher.flush();
              finish = 'length';
            }
            if (!q.stream) out += text;
            else if (chat) {
              if (text) res.write(chunk(text, null));
              if (finish) res.write(chunk(null, finish));
            } else if (text || finish) res.write(chunk(text, finish));
            if (m.stopped) handle?.finish();
          },
          done: () => {
            finished = true;
            const usage = { prompt_tokens: q.prompt.length, completion_tokens: tokens.length, total_tokens: q.prompt.length + tokens.length };
            if (q.stream) {
              if (q.includeUsage) res.write(`data: ${JSON.stringify({ id, object, created, model, choices: [], usage })}\n\n`);
              res.end('data: [DONE]\n\n');
            } else if (chat) {
              sendJson(res, 200, { id, object: 'chat.completion', created, model, choices: [{ index: 0, message: { role: 'assistant', content: out }, logprobs: null, finish_reason: finishReason }], usage });
            } else {
              sendJson(res, 200, { id, object: 'text_completion', created, model, choices: [{ text: out, index: 0, logprobs: null, finish_reason: finishReason }], usage });
            }
          },
        },
        { sampler, receivedAt, label: id },
      );
    } catch (e) {
      if (e instanceof InputError) {
        const ctx = (e.field === 'prompt' || e.field === 'max_tokens') && /context|KV capacity/.test(e.message);
        // The loop knows the limit as max_tokens; a chat request may have set it as max_completion_tokens.
        const field = e.field === 'max_tokens' ? q.maxTokensField : e.field;
        const message = field === e.field ? e.message : new InputError(field, e.value, e.allowed, e.detail).message;
        return sendError(res, 400, message, field, ctx ? 'context_length_exceeded' : null);
      }
      return sendError(res, 503, (e as Error).message, null, 'unavailable');
    }
    // A client gone before its last token frees its slot and KV cache at the next step boundary.
    res.on('close', () => {
      if (!finished) handle?.cancel();
    });
    if (q.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      if (chat) res.write(`data: ${JSON.stringify({ id, object, created, model, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] })}\n\n`);
      else res.flushHeaders();
    }
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const receivedAt = loop.clockReading();
    const url = (req.url ?? '/').split('?')[0];
    const route = `${req.method} ${url}`;
    loop.noteIntake();
    if (closing && (route === 'POST /v1/completions' || route === 'POST /v1/chat/completions')) return sendError(res, 503, 'the server is shutting down', null, 'unavailable');
    if (url.startsWith('/v1/models/')) {
      if (req.method !== 'GET') return sendError(res, 405, `${req.method} is not allowed on ${url}`, null, 'method_not_allowed', { allow: 'GET' });
      let id = url.slice('/v1/models/'.length);
      try {
        id = decodeURIComponent(id);
      } catch {
        // An undecodable id is simply not this model.
      }
      return id === model ? sendJson(res, 200, modelCard) : sendError(res, 404, `the model "${id}" does not exist; this server serves "${model}"`, 'model', 'model_not_found');
    }
    switch (route) {
      case 'POST /v1/completions':
      case 'POST /v1/chat/completions':
        completions(route === 'POST /v1/completions' ? 'completions' : 'chat', req, res, receivedAt).catch((e) => sendError(res, 500, (e as Error).message, null, null));
        return;
      case 'GET /v1/models':
        return sendJson(res, 200, { object: 'list', data: [modelCard] });
      case 'GET /batchlab/metrics':
        return sendJson(res, 200, { ...loop.metrics(), monotonicOrigin: loop.monotonicOrigin(), policy: loop.policy, engine: loop.engine.config, backend: loop.engine.backend, steps: loop.steps, arrivals: loop.arrivals, decisions: loop.decisions });
      case 'POST /batchlab/reset':
        readBody(req)
          .then((text) => {
            const body = text.trim() === '' ? {} : (JSON.parse(text) as { policy?: unknown });
            try {
              loop.reset(body.policy);
            } catch (e) {
              if (e instanceof InputError && e.field === 'reset') return sendError(res, 409, e.message, null, 'busy');
              throw e;
            }
            return sendJson(res, 200, { ok: true, policy: loop.policy });
          })
          .catch((e) => sendError(res, 400, (e as Error).message, e instanceof InputError ? e.field : null, null));
        return;
      case 'POST /batchlab/speed': {
        // Engine steps are synchronous, so an idle loop cannot start one while the probe runs.
        const fit = opts.stepCost?.();
        if (!fit) return sendError(res, 404, 'no step cost was measured (start the server with a calibration)', null, 'not_found');
        if (loop.inSystem() > 0) return sendError(res, 409, `the server is busy (${loop.inSystem()} requests in the system)`, null, 'busy');
        return sendJson(res, 200, { ratio: probeEngineSpeed(loop.engine, fit) });
      }
      case 'GET /batchlab/step-cost': {
        const fit = opts.stepCost?.();
        return fit ? sendJson(res, 200, fit) : sendError(res, 404, 'no step cost was measured (start the server with a calibration)', null, 'not_found');
      }
      default:
        if (ROUTE_METHODS[url] !== undefined) return sendError(res, 405, `${req.method} is not allowed on ${url}`, null, 'method_not_allowed', { allow: ROUTE_METHODS[url] });
        return sendError(res, 404, `no route ${url}`, null, 'not_found');
    }
  };
  const server = opts.server ?? (await bindServer(opts.port ?? 0));
  // bindServer's stand-in answered 503 while the engine was being built; from here this server answers.
  server.removeAllListeners('request');
  server.on('request', handle);
  server.on('connection', () => loop.noteIntake());
  const actual = (server.address() as AddressInfo).port;
  void loop.run();
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    server,
    async close() {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await loop.stop();
      server.closeIdleConnections();
      await closed;
    },
  };
}
