// A thin client of the hypervisor API, over TCP (hyper-cli) or the admin socket (hyperctl).
// It knows routes and error shapes, nothing about how the daemon carries a request out.
import { Agent, type Dispatcher } from 'undici';
import { HypervisorError } from '../common/errors.js';

/** Where the API is; `token` (hyper-cli, after login) is sent as `Authorization: Bearer`. */
export type Endpoint = ({ url: string } | { socketPath: string }) & { token?: string };

/**
 * What the API answered instead of a result, in its own words; `cli/failure.ts` says it in the
 * CLI's. Codes besides the API's own: `unreachable` (status 0: no answer at all) and
 * `not_the_api` (an answer without the API's error shape: another server, or a proxy in between).
 */
export class ApiError extends HypervisorError {
  readonly status: number;
  /** The server URL or admin socket asked. */
  readonly where: string;
  /** Whether a token went with the request (a 401 then means the session ended, not "never logged in"). */
  readonly withToken: boolean;
  constructor(status: number, code: string, message: string, context: { where: string; withToken: boolean }) {
    super(code, message);
    this.status = status;
    this.where = context.where;
    this.withToken = context.withToken;
  }
}

export interface RawInit {
  body?: string;
  headers?: Record<string, string>;
}

export class ApiClient {
  readonly #base: string;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #where: string;
  readonly #token: string | undefined;

  constructor(endpoint: Endpoint) {
    this.#token = endpoint.token;
    if ('url' in endpoint) {
      this.#base = endpoint.url.replace(/\/+$/, '');
      this.#dispatcher = undefined;
      this.#where = this.#base;
    } else {
      // The host part is ignored on a unix socket; the path part is what the API routes on.
      this.#base = 'http://localhost';
      this.#dispatcher = new Agent({ connect: { socketPath: endpoint.socketPath } });
      this.#where = endpoint.socketPath;
    }
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  async request<T>(method: string, path: string, body?: unknown, timeoutMs = 120_000): Promise<T> {
    const json =
      body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
    const response = await this.#fetch(method, path, json, timeoutMs);
    const text = await response.text();
    const parsed = text ? safeJson(text) : null;
    if (!response.ok) throw this.#error(response.status, parsed, text);
    return parsed as T;
  }

  /** A request with a body and headers of the caller's choosing (YAML, If-Match); the answer as text. */
  async send(
    method: string,
    path: string,
    init: RawInit = {},
    timeoutMs = 120_000,
  ): Promise<{ status: number; text: string; headers: Headers }> {
    const response = await this.#fetch(method, path, init, timeoutMs);
    const text = await response.text();
    if (!response.ok) throw this.#error(response.status, text ? safeJson(text) : null, text);
    return { status: response.status, text, headers: response.headers };
  }

  async #fetch(method: string, path: string, init: RawInit, timeoutMs: number): Promise<Response> {
    try {
      return await fetch(`${this.#base}/hypervisor${path}`, {
        method,
        headers: { ...this.#headers(), ...init.headers },
        body: init.body,
        signal: AbortSignal.timeout(timeoutMs),
        // @ts-expect-error undici's dispatcher option is not in the DOM fetch types Node ships
        dispatcher: this.#dispatcher,
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiError(
        0,
        'unreachable',
        `cannot reach the hypervisor at ${this.#where}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        this.#context(),
      );
    }
  }

  #error(status: number, parsed: unknown, text: string): ApiError {
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    if (typeof error?.code === 'string' && typeof error.message === 'string') {
      return new ApiError(status, error.code, error.message, this.#context());
    }
    return new ApiError(status, 'not_the_api', `HTTP ${status}: ${text.slice(0, 200)}`, this.#context());
  }

  #context(): { where: string; withToken: boolean } {
    return { where: this.#where, withToken: this.#token !== undefined };
  }

  /**
   * A streamed answer (`?follow=1`): each chunk of text goes to `write` until the server ends it.
   * Resolves with the answer's headers; an answer cut off before its end rejects.
   */
  async stream(path: string, write: (text: string) => void, timeoutMs = 65 * 60_000): Promise<Headers> {
    const response = await this.#fetch('GET', path, {}, timeoutMs);
    if (!response.ok) {
      const text = await response.text();
      throw this.#error(response.status, text ? safeJson(text) : null, text);
    }
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body ?? []) write(decoder.decode(chunk as Uint8Array, { stream: true }));
    } catch (err) {
      // The server cut the answer off (it ended, or found what it sent was wrong): what came is not all of it.
      const cause = (err as Error).message;
      const message = `the answer from ${this.#where} ended before it was complete (${cause})`;
      throw new ApiError(0, 'cut_off', message, this.#context());
    }
    write(decoder.decode());
    return response.headers;
  }

  #headers(): Record<string, string> {
    return this.#token === undefined ? {} : { authorization: `Bearer ${this.#token}` };
  }

  async close(): Promise<void> {
    await this.#dispatcher?.close();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { raw: text };
  }
}
