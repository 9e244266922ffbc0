import dgram from 'node:dgram';
import net from 'node:net';
import type { TableSource } from '../events/table-holder.ts';
import type { Logger } from '../shared/log.ts';
import type { HostPort } from '../shared/address.ts';
import { answerQuery, RCODE, type Rng } from './core/answer.ts';
import type { RecordTable } from './core/record-types.ts';
import { DnsError } from './errors.ts';
import type { Forwarder } from './forwarder.ts';
import { QueryCounters } from './metrics.ts';
import { ReplyCache } from './core/reply-cache.ts';
import { TcpAdmission, type TcpLimits } from './core/tcp-admission.ts';
import { decodeMessage, encodeAnswer, encodeError, TCP_LIMIT, udpLimit } from './core/wire.ts';

export interface DnsServerOptions {
  host: string;
  /** 0 picks a free port, the same one for UDP and TCP. */
  port: number;
  tables: TableSource<RecordTable>;
  logger: Logger;
  /** Shuffles answers; tests pass a seeded one. */
  rng?: Rng;
  /** Idle TCP connections are closed after this long (RFC 7766 suggests seconds, not minutes). */
  tcpIdleMs?: number;
  /** A TCP message must arrive whole within this long of its first byte; the connection is closed otherwise. */
  tcpMessageMs?: number;
  /** Open TCP connections, in all and per client IP; past a cap the least recently active one is closed. */
  tcpLimits?: TcpLimits;
  /** Names outside the domain go here; without it they are REFUSED. */
  forwarder?: Forwarder;
  counters?: QueryCounters;
}

const BIND_ATTEMPTS_FOR_PORT_0 = 5;
const RCODE_BADVERS = 16;
const DEFAULT_TCP_LIMITS: TcpLimits = { total: 1024, perClient: 128 };
/** Generous for any real client (a 64 KiB message is one round trip on a LAN), short for a slow drip. */
const DEFAULT_TCP_MESSAGE_MS = 3000;

/**
 * Serves the current RecordTable over UDP and TCP on one port. Every path is wrapped: a message
 * that breaks the codec costs one log line, never the process.
 */
export class DnsServer {
  readonly #options: DnsServerOptions;
  /** Undefined in a UDP helper process, which shares the main process' UDP socket only. */
  readonly #tcp: net.Server | undefined;
  readonly #udp: dgram.Socket;
  readonly #sockets = new Set<net.Socket>();
  readonly #admission: TcpAdmission<net.Socket>;
  readonly #rng: Rng;
  readonly counters: QueryCounters;
  readonly #replies = new ReplyCache();
  readonly address: HostPort;

  private constructor(options: DnsServerOptions, tcp: net.Server | undefined, udp: dgram.Socket) {
    this.#options = options;
    this.#tcp = tcp;
    this.#udp = udp;
    this.#rng = options.rng ?? Math.random;
    this.#admission = new TcpAdmission(options.tcpLimits ?? DEFAULT_TCP_LIMITS);
    this.counters = options.counters ?? new QueryCounters();
    this.address = { host: options.host, port: udp.address().port };
    udp.on('message', (message, remote) => this.#onDatagram(message, remote));
    udp.on('error', (err) => options.logger.error({ err: err.message }, 'udp socket error'));
    tcp?.on('connection', (socket) => this.#onConnection(socket));
    tcp?.on('error', (err) => options.logger.error({ err: err.message }, 'tcp server error'));
  }

  /**
   * Answers datagrams arriving on a UDP socket bound elsewhere (another process handed it over):
   * every process reading the socket takes its share of the queries.
   */
  static adoptUdp(udp: dgram.Socket, options: Omit<DnsServerOptions, 'host' | 'port'>): DnsServer {
    const { address, port } = udp.address();
    return new DnsServer({ ...options, host: address, port }, undefined, udp);
  }

  /** The bound UDP socket, to hand to helper processes. */
  get udpSocket(): dgram.Socket {
    return this.#udp;
  }

  /** Binds TCP first (port 0 resolves there), then UDP on the same port. */
  static async listen(options: DnsServerOptions): Promise<DnsServer> {
    const attempts = options.port === 0 ? BIND_ATTEMPTS_FOR_PORT_0 : 1;
    for (let attempt = 1; ; attempt++) {
      // No maxConnections: the kernel would refuse new clients while slow ones hold every slot;
      // TcpAdmission closes the least recently active connection instead.
      const tcp = net.createServer({ pauseOnConnect: false });
      await listenTcp(tcp, options.host, options.port);
      const port = (tcp.address() as net.AddressInfo).port;
      const udp = dgram.createSocket(net.isIPv6(options.host) ? 'udp6' : 'udp4');
      try {
        await bindUdp(udp, options.host, port);
        return new DnsServer(options, tcp, udp);
      } catch (err) {
        closeQuietly(udp);
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
        // With port 0 the OS picked a TCP port whose UDP twin is taken: ask again.
        if (attempt >= attempts) throw new DnsError('ERR_DNS_BIND', `cannot bind DNS UDP ${options.host}:${port}: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.#tcp === undefined ? resolve() : this.#tcp.close(() => resolve()))),
      new Promise<void>((resolve) => closeQuietly(this.#udp, resolve)),
    ]);
  }

  /**
   * Decodes, answers and encodes one message; undefined when it deserves no reply. Answers from
   * the table are synchronous; only forwarded questions return a promise.
   */
  respond(message: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined | Promise<Buffer> {
    const decoded = decodeMessage(message);
    if (decoded.kind === 'drop') {
      this.counters.dropped += 1;
      this.#options.logger.debug({ transport, reason: decoded.reason, bytes: message.length }, 'dropped message');
      return undefined;
    }
    if (decoded.kind === 'error') {
      this.counters.malformed += 1;
      this.#options.logger.debug({ transport, reason: decoded.reason, rcode: decoded.rcode }, 'malformed query');
      return encodeError(decoded.header, decoded.rcode);
    }
    const forwarder = this.#options.forwarder;
    const qtype = decoded.question.type;
    try {
      const table = this.#options.tables.current;
      const limit = transport === 'udp' ? udpLimit(decoded.edns) : TCP_LIMIT;
      const reply = this.#replies.reply(table, decoded, limit, () => {
        const answer = answerQuery(table, decoded.question, this.#rng, decoded.key);
        if (answer.outside === true && forwarder !== undefined) return undefined;
        const rcode = decoded.edns !== undefined && decoded.edns.version > 0 ? RCODE_BADVERS : answer.rcode;
        return { bytes: encodeAnswer(decoded, answer, { limit, ra: forwarder !== undefined }), rcode, orders: answer.answers.length };
      });
      if (reply !== undefined) {
        this.counters.count(qtype, reply.rcode, transport);
        return reply.bytes;
      }
      return (forwarder as Forwarder).forward(decoded, message, transport).then((bytes) => {
        this.counters.count(qtype, bytes.length >= 4 ? bytes.readUInt16BE(2) & 0xf : RCODE.SERVFAIL, transport);
        return bytes;
      });
    } catch (err) {
      this.counters.count(qtype, RCODE.SERVFAIL, transport);
      this.#options.logger.warn({ transport, name: decoded.question.name, err: (err as Error).message }, 'cannot answer query');
      return encodeError(decoded.header, RCODE.SERVFAIL);
    }
  }

  #onDatagram(message: Buffer, remote: dgram.RemoteInfo): void {
    try {
      const reply = this.respond(message, 'udp');
      if (reply === undefined) return;
      if (reply instanceof Promise) {
        reply.then((bytes) => this.#send(bytes, remote), (err: Error) => this.#options.logger.error({ err: err.message }, 'forwarding failed'));
      } else {
        this.#send(reply, remote);
      }
    } catch (err) {
      this.#options.logger.error({ err: (err as Error).message }, 'udp handler failed');
    }
  }

  #send(reply: Buffer, remote: dgram.RemoteInfo): void {
    this.#udp.send(reply, remote.port, remote.address, this.#onSent);
  }

  readonly #onSent = (err: Error | null): void => {
    if (err) this.#options.logger.debug({ err: err.message }, 'udp send failed');
  };

  /** RFC 1035 §4.2.2 framing: a 2-byte length before each message; several per connection. */
  #onConnection(socket: net.Socket): void {
    const { logger } = this.#options;
    this.#sockets.add(socket);
    for (const victim of this.#admission.admit(socket, socket.remoteAddress ?? '')) {
      this.counters.tcpEvicted += 1;
      victim.destroy();
    }
    socket.setTimeout(this.#options.tcpIdleMs ?? 10_000, () => socket.destroy());
    // The idle timer restarts on every byte, so a byte every few seconds would hold the
    // connection for ever: each message also has a deadline from its first byte.
    let deadline: NodeJS.Timeout | undefined;
    const messageMs = this.#options.tcpMessageMs ?? DEFAULT_TCP_MESSAGE_MS;
    const onLate = (): void => {
      this.counters.tcpSlow += 1;
      logger.debug({ remote: socket.remoteAddress }, 'tcp message not complete in time');
      socket.destroy();
    };
    socket.on('close', () => {
      clearTimeout(deadline);
      this.#sockets.delete(socket);
      this.#admission.remove(socket);
    });
    socket.on('error', (err) => logger.debug({ err: err.message }, 'tcp connection error'));
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      try {
        if (pending.length === 0) deadline = setTimeout(onLate, messageMs);
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        while (pending.length >= 2) {
          const length = pending.readUInt16BE(0);
          if (pending.length < 2 + length) break;
          const message = pending.subarray(2, 2 + length);
          pending = pending.subarray(2 + length);
          clearTimeout(deadline);
          if (pending.length > 0) deadline = setTimeout(onLate, messageMs);
          this.#admission.touch(socket);
          const reply = this.respond(message, 'tcp');
          if (reply === undefined) {
            // Nothing sensible to say on a stream we no longer trust.
            socket.destroy();
            return;
          }
          // RFC 7766 §7: replies to pipelined queries may go out of order; ids match them up.
          if (reply instanceof Promise) {
            reply.then((bytes) => writeFrame(socket, bytes), () => socket.destroy());
          } else {
            writeFrame(socket, reply);
          }
        }
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'tcp handler failed');
        socket.destroy();
      }
    });
  }
}

function writeFrame(socket: net.Socket, reply: Buffer): void {
  if (socket.destroyed) return;
  const frame = Buffer.alloc(2 + reply.length);
  frame.writeUInt16BE(reply.length, 0);
  reply.copy(frame, 2);
  socket.write(frame);
}

function listenTcp(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(new DnsError('ERR_DNS_BIND', `cannot listen for DNS TCP on ${host}:${port}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function bindUdp(socket: dgram.Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

/** dgram throws when a socket that never bound (or already closed) is closed again. */
function closeQuietly(socket: dgram.Socket, done: () => void = () => undefined): void {
  try {
    socket.close(done);
  } catch {
    done();
  }
}
