import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InputError } from '../util/errors.js';
import type { ServingLoop } from './loop.js';
import { probeEngineSpeed } from '../engine/stepcost.js';
import type { EngineStepCostFit } from '../engine/stepcost.js';

/** Largest request body accepted (a 32k-token prompt as a JSON array fits). */
export const MAX_BODY_BYTES = 1 << 20;

/** Options of the HTTP front end. */
export interface CompletionServerOptions {
  /** Port on 127.0.0.1 (0: any free port). */
  port?: number;
  /** The model name the endpoint reports and accepts (any name is accepted when absent). */
  model?: string;
  /** A measured step cost to publish at GET /batchlab/step-cost. */
  stepCost?: () => EngineStepCostFit | undefined;
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
 * (ids 0-255, a byte-level tokenizer).
 *
 * @example
 * promptTokens('hi') // => [104, 105]
 */
export function promptTokens(prompt: unknown): number[] {
  if (typeof prompt === 'string') {
    if (prompt.length === 0) throw new InputError('prompt', prompt, 'a non-empty string or array of token ids');
    return [...new TextEncoder().encode(prompt)];
  }
  if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((t) => typeof t === 'number')) return prompt as number[];
  throw new InputError('prompt', prompt, 'one prompt: a non-empty string or a non-empty array of token ids');
}

function sendError(res: ServerResponse, status: number, message: string, param: string | null, code: string | null): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param, code } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new InputError('body', `${size} bytes`, `at most ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * An OpenAI-compatible completions endpoint on 127.0.0.1 in front of a ServingLoop:
 * `POST /v1/completions` (stream true: server-sent events, one chunk per token, then
 * `data: [DONE]`; stream false: one JSON body), `GET /v1/models`, and
 * `GET /batchlab/metrics`, `POST /batchlab/reset` (optionally `{ policy }` to switch
 * policy while idle), `GET /batchlab/step-cost` and `POST /batchlab/speed` (the
 * engine's speed now against its measured step cost) for measurement runs. Bad input is a 400 with an OpenAI-style error body naming the
 * field (malformed JSON, max_tokens < 1, prompt + max_tokens beyond the context with
 * code `context_length_exceeded`); a client that disconnects cancels its request.
 *
 * @example
 * const srv = await startCompletionServer(loop, { port: 0, model: 'batchlab' });
 * // new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'none' }).completions.create({ model: 'batchlab', prompt: [1, 2], max_tokens: 8, stream: true })
 * await srv.close();
 */
export async function startCompletionServer(loop: ServingLoop, opts: CompletionServerOptions = {}): Promise<CompletionServer> {
  const model = opts.model ?? 'batchlab';
  let closing = false;
  const created = Math.floor(Date.now() / 1000);
  let counter = 0;

  async function completions(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: Record<string, unknown>;
    try {
      const text = await readBody(req);
      const parsed: unknown = JSON.parse(text);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SyntaxError('the body is not a JSON object');
      body = parsed as Record<string, unknown>;
    } catch (e) {
      if (e instanceof InputError) return sendError(res, 413, e.message, 'body', 'body_too_large');
      return sendError(res, 400, `malformed JSON body: ${(e as Error).message}`, null, 'invalid_json');
    }
    let prompt: number[];
    let maxTokens: number;
    try {
      prompt = promptTokens(body.prompt);
      maxTokens = body.max_tokens === undefined || body.max_tokens === null ? 16 : (body.max_tokens as number);
      if (!Number.isSafeInteger(maxTokens) || maxTokens < 1) throw new InputError('max_tokens', body.max_tokens, 'an integer ≥ 1');
      if (body.n !== undefined && body.n !== 1) throw new InputError('n', body.n, '1 (one completion per request)');
      if (body.model !== undefined && opts.model !== undefined && body.model !== model) throw new InputError('model', body.model, `"${model}"`);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      return sendError(res, e.field === 'model' ? 404 : 400, e.message, e.field, e.field === 'model' ? 'model_not_found' : null);
    }
    const stream = body.stream === true;
    const includeUsage = stream && (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const id = `cmpl-${++counter}`;
    const chunk = (text: string, finish: string | null): string =>
      `data: ${JSON.stringify({ id, object: 'text_completion', created, model, choices: [{ text, index: 0, logprobs: null, finish_reason: finish }] })}\n\n`;
    const usage = { prompt_tokens: prompt.length, completion_tokens: maxTokens, total_tokens: prompt.length + maxTokens };
    const tokens: number[] = [];
    let handle: { cancel: () => void };
    let finished = false;
    try {
      handle = loop.submit(prompt, maxTokens, {
        token: (t) => {
          tokens.push(t);
          if (stream && tokens.length < maxTokens) res.write(chunk(tokenText(t), null));
          else if (stream) res.write(chunk(tokenText(t), 'length'));
        },
        done: () => {
          finished = true;
          if (stream) {
            if (includeUsage) res.write(`data: ${JSON.stringify({ id, object: 'text_completion', created, model, choices: [], usage })}\n\n`);
            res.end('data: [DONE]\n\n');
          } else {
            sendJson(res, 200, {
              id,
              object: 'text_completion',
              created,
              model,
              choices: [{ text: tokens.map(tokenText).join(''), index: 0, logprobs: null, finish_reason: 'length' }],
              usage,
            });
          }
        },
      });
    } catch (e) {
      if (e instanceof InputError) {
        const ctx = e.field === 'prompt' && /context|KV capacity/.test(e.message);
        return sendError(res, 400, e.message, e.field, ctx ? 'context_length_exceeded' : null);
      }
      return sendError(res, 503, (e as Error).message, null, 'unavailable');
    }
    // A client gone before its last token frees its slot and KV cache at the next step boundary.
    res.on('close', () => {
      if (!finished) handle.cancel();
    });
    if (stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.flushHeaders();
    }
  }

  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const route = `${req.method} ${url}`;
    if (closing && route === 'POST /v1/completions') return sendError(res, 503, 'the server is shutting down', null, 'unavailable');
    switch (route) {
      case 'POST /v1/completions':
        completions(req, res).catch((e) => sendError(res, 500, (e as Error).message, null, null));
        return;
      case 'GET /v1/models':
        return sendJson(res, 200, { object: 'list', data: [{ id: model, object: 'model', created, owned_by: 'batchlab' }] });
      case 'GET /batchlab/metrics':
        return sendJson(res, 200, { ...loop.metrics(), policy: loop.policy, engine: loop.engine.config, backend: loop.engine.backend, steps: loop.steps, arrivals: loop.arrivals, decisions: loop.decisions });
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
        if (['/v1/completions', '/v1/models', '/batchlab/metrics', '/batchlab/reset', '/batchlab/step-cost', '/batchlab/speed'].includes(url)) return sendError(res, 405, `${req.method} is not allowed on ${url}`, null, 'method_not_allowed');
        return sendError(res, 404, `no route ${url}`, null, 'not_found');
    }
  });
  const port = opts.port ?? 0;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new InputError('port', port, 'an integer in [0, 65535]');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
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
