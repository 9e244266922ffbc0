import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, interceptors, type Dispatcher } from 'undici';
import { awaitsLeader, LEADER_HEADER, leaderFromHeader, nextMaster, shouldMoveToLeader } from '../../events/core/masters.ts';
import { clientConnect, isUntrustedCertificate } from '../../shared/tls.ts';

/** The scheduler answered 4xx/5xx: `message` is its own words (Marathon's `message`, plus `details`). */
export class ApiFailure extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, message: string, body: unknown) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** No scheduler answered at any of the URLs tried. */
export class MasterUnreachable extends Error {
  readonly tried: readonly string[];
  constructor(tried: readonly string[], cause: string) {
    super(BROKEN_ERRORS.has(cause)
      ? `the connection to the scheduler at ${tried.at(-1) ?? ''} broke before it answered (${cause}): the request may have been applied; look before sending it again`
      : `cannot reach the scheduler at ${tried.join(', ')} (${cause}); ${isUntrustedCertificate(cause) ? TRUST_HINT : 'is it running? Point --master or CORRAL_MASTER at it'}`);
    this.tried = tried;
  }
}

export interface Reply<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: T;
}

const TRUST_HINT = 'its certificate is not trusted: give the CA that signed it with --ca or CORRAL_CA';

/** Errors that mean "nobody listens there": the next scheduler URL may be tried without risk. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);
/**
 * A connection that broke after the request went out (a standby turning leader closes its proxy): the
 * request may have acted, so only an idempotent one goes to the next scheduler.
 */
const BROKEN_ERRORS = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

function errorCode(error: unknown): string {
  const own = (error as { code?: unknown }).code;
  const cause = (error as { cause?: { code?: unknown } }).cause?.code;
  return String(own ?? cause ?? (error as Error).message);
}

/** The server's message for a failed request, with Marathon's validation details appended. */
export function failureMessage(status: number, body: unknown, text: string): string {
  const json = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const message = typeof json.message === 'string' ? json.message : text.trim() || `HTTP ${status}`;
  const details = Array.isArray(json.details)
    ? (json.details as Array<{ path?: unknown; errors?: unknown }>).map((d) => `\n  ${String(d.path ?? '')}: ${Array.isArray(d.errors) ? d.errors.join('; ') : JSON.stringify(d)}`).join('')
    : '';
  const deployments = Array.isArray(json.deployments) ? `\n  deployments: ${(json.deployments as Array<{ id?: unknown }>).map((d) => String(d.id)).join(', ')}` : '';
  return `${message}${details}${deployments}`;
}

export interface MasterClientOptions {
  /** How long a call waits through a standby's 503 while a leader is elected (default 10 s). */
  leaderWaitMs?: number;
  /** Tells the user (stderr) once that a call waits for a leader. */
  notice?: (line: string) => void;
}

/** Between two tries of a call a standby refused for want of a leader. */
const LEADER_RETRY_MS = 500;

/**
 * HTTP to the scheduler (and to agents' files API) on undici: JSON in and out, redirects from a
 * non-leader followed, the next `--master` URL tried when one does not accept connections. With
 * several schedulers, calls go to the leader their answers name (`X-Marathon-Leader`), and a
 * standby's 503 during an election is retried until a leader answers or the wait runs out.
 */
export class MasterClient {
  readonly masters: readonly string[];
  readonly #dispatcher: Dispatcher;
  readonly #agent: Agent;
  /** `authorization` for the scheduler (a scheduler with --auth); never sent to agents. */
  readonly #auth: Record<string, string>;
  readonly #options: MasterClientOptions;
  #current: string;
  #namedLeader: string | undefined;
  #waitNoticed = false;

  /** `ca`: a PEM file of the certificates trusted for https scheduler and agent URLs (`--ca`); `token`: sent to the scheduler only. */
  constructor(masters: readonly string[], ca?: string, token?: string, options: MasterClientOptions = {}) {
    this.masters = masters;
    this.#options = options;
    this.#current = masters[0] ?? '';
    this.#auth = token === undefined ? {} : { authorization: `Bearer ${token}` };
    this.#agent = new Agent({ connect: { timeout: 5000, ...clientConnect(ca) }, headersTimeout: 30_000, bodyTimeout: 0 });
    this.#dispatcher = this.#agent.compose(interceptors.redirect({ maxRedirections: 3 }));
  }

  get master(): string {
    return this.#current;
  }

  /** A JSON request to the scheduler; 4xx/5xx become {@link ApiFailure}. */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
    return this.#withMaster(IDEMPOTENT.has(method.toUpperCase()), async (base) => {
      const reply = await this.#json<T>(method, `${base}${path}`, body, this.#auth);
      this.#heard(base, reply.headers);
      return reply;
    });
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.call<T>('GET', path).then((reply) => reply.json);
  }

  /** A JSON GET from another server (an agent's files API); `headers` carry its own credentials (an agent token). */
  async getFrom<T = unknown>(base: string, path: string, headers: Record<string, string> = {}): Promise<T> {
    try {
      return (await this.#json<T>('GET', `${base}${path}`, undefined, headers)).json;
    } catch (error) {
      if (error instanceof ApiFailure) throw error;
      const code = errorCode(error);
      throw new Error(`cannot reach ${base} (${code})${isUntrustedCertificate(code) ? `; ${TRUST_HINT}` : ''}`);
    }
  }

  /** Opens a streaming GET (Server-Sent Events): resolves once the headers say 200. */
  async stream(path: string, headers: Record<string, string>, signal: AbortSignal): Promise<AsyncIterable<Buffer>> {
    return this.#withMaster(true, async (base) => {
      const response = await this.#dispatcher.request({ ...split(`${base}${path}`), method: 'GET', headers: { ...headers, ...this.#auth }, signal });
      this.#heard(base, response.headers);
      if (response.statusCode !== 200) {
        const text = await response.body.text();
        throw new ApiFailure(response.statusCode, failureMessage(response.statusCode, parse(text), text), parse(text));
      }
      return response.body as AsyncIterable<Buffer>;
    });
  }

  async close(): Promise<void> {
    await this.#agent.destroy();
  }

  async #json<T>(method: string, url: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<Reply<T>> {
    const response = await this.#dispatcher.request({
      ...split(url),
      method: method as Dispatcher.HttpMethod,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...extraHeaders },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.body.text();
    const json = parse(text);
    if (response.statusCode >= 400) throw new ApiFailure(response.statusCode, failureMessage(response.statusCode, json, text), json);
    return { status: response.statusCode, headers: response.headers, json: json as T };
  }

  /** A scheduler's answer named the leader: later calls go there. */
  #heard(base: string, headers: Record<string, string | string[] | undefined>): void {
    const leader = leaderFromHeader(headers[LEADER_HEADER]);
    this.#namedLeader = leader;
    if (shouldMoveToLeader(base, leader)) this.#current = leader;
  }

  /**
   * Runs `attempt` against the current master, moving on to the next while nobody listens there (or,
   * for an `idempotent` request, while connections break mid-request); through an election (a
   * standby's 503) it tries again until the wait runs out.
   */
  async #withMaster<T>(idempotent: boolean, attempt: (base: string) => Promise<T>): Promise<T> {
    const waitMs = this.#options.leaderWaitMs ?? 10_000;
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        return await this.#onEachMaster(idempotent, attempt);
      } catch (error) {
        if (!(error instanceof ApiFailure) || !awaitsLeader(error.status, error.message) || Date.now() + LEADER_RETRY_MS > deadline) throw error;
        if (!this.#waitNoticed) {
          this.#waitNoticed = true;
          this.#options.notice?.(`${error.message.replace(/: retry shortly$/, '')}; waiting up to ${Math.round(waitMs / 1000)} s for a leader`);
        }
        // Another scheduler may already be the leader.
        this.#current = nextMaster(this.masters, this.#current, undefined);
        await sleep(LEADER_RETRY_MS);
      }
    }
  }

  async #onEachMaster<T>(idempotent: boolean, attempt: (base: string) => Promise<T>): Promise<T> {
    const tried: string[] = [];
    let last = '';
    for (let n = 0; n < Math.max(1, this.masters.length); n += 1) {
      const base = this.#current;
      try {
        return await attempt(base);
      } catch (error) {
        if (error instanceof ApiFailure || (error as Error).name === 'AbortError') throw error;
        tried.push(base);
        last = errorCode(error);
        if (!CONNECT_ERRORS.has(last) && !(idempotent && BROKEN_ERRORS.has(last))) throw new MasterUnreachable(tried, last);
        this.#current = nextMaster(this.masters, base, this.#namedLeader);
      }
    }
    throw new MasterUnreachable(tried, last);
  }
}

function split(url: string): { origin: string; path: string } {
  const target = new URL(url);
  return { origin: target.origin, path: `${target.pathname}${target.search}` };
}

function parse(text: string): unknown {
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
