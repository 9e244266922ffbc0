import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { closeServer, listenOn } from './lb-fixtures.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * A minimal RFC 6455 echo server (text frames up to 64 KiB, masked as clients must send them):
 * enough to prove that an Upgrade crosses the proxy and that bytes flow both ways after it.
 * Each echo is prefixed with `name:`, so a test sees which backend answered.
 */
export async function startWebSocketEcho(name: string): Promise<{ port: number; close: () => Promise<void> }> {
  const server: Server = createServer((_req, res) => res.end('not a websocket'));
  const sockets = new Set<Duplex>();
  server.on('upgrade', (req, socket: Duplex) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    const key = req.headers['sec-websocket-key'];
    const accept = createHash('sha1').update(`${String(key)}${GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Forwarded-Seen: ${String(req.headers['x-forwarded-for'])}\r\n\r\n`);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const frame = readFrame(buffered);
        if (frame === undefined) return;
        buffered = buffered.subarray(frame.length);
        if (frame.opcode === 0x8) {
          socket.end(Buffer.from([0x88, 0x00]));
          return;
        }
        if (frame.opcode === 0x1) socket.write(textFrame(`${name}:${frame.payload.toString('utf8')}`));
      }
    });
  });
  const port = await listenOn(server);
  return {
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await closeServer(server);
    },
  };
}

function readFrame(data: Buffer): { opcode: number; payload: Buffer; length: number } | undefined {
  if (data.length < 2) return undefined;
  const opcode = (data[0] ?? 0) & 0x0f;
  const masked = ((data[1] ?? 0) & 0x80) !== 0;
  let size = (data[1] ?? 0) & 0x7f;
  let offset = 2;
  if (size === 126) {
    if (data.length < 4) return undefined;
    size = data.readUInt16BE(2);
    offset = 4;
  }
  const maskOffset = offset;
  if (masked) offset += 4;
  if (data.length < offset + size) return undefined;
  const payload = Buffer.from(data.subarray(offset, offset + size));
  if (masked) for (let i = 0; i < payload.length; i += 1) payload[i] = (payload[i] ?? 0) ^ (data[maskOffset + (i % 4)] ?? 0);
  return { opcode, payload, length: offset + size };
}

function textFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = payload.length < 126 ? Buffer.from([0x81, payload.length]) : Buffer.from([0x81, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, payload]);
}

/** What a WebSocket client saw: the handshake status line and headers, then the echoed messages. */
export interface WebSocketExchange {
  statusLine: string;
  headers: string;
  messages: string[];
}

/**
 * Opens a WebSocket to 127.0.0.1:`port` with the given Host (so vhosts can route it), sends
 * `messages` one by one (each after the previous echo), closes, and reports what came back.
 */
export function webSocketExchange(port: number, host: string, messages: readonly string[]): Promise<WebSocketExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const result: WebSocketExchange = { statusLine: '', headers: '', messages: [] };
    let buffered = Buffer.alloc(0);
    let upgraded = false;
    const next = (): void => {
      const message = messages[result.messages.length];
      if (message === undefined) {
        socket.end(maskedFrame(0x8, Buffer.alloc(0)));
        resolve(result);
        return;
      }
      socket.write(maskedFrame(0x1, Buffer.from(message, 'utf8')));
    };
    socket.setTimeout(5000, () => socket.destroy(new Error('websocket exchange timed out')));
    socket.once('error', reject);
    socket.once('close', () => {
      if (!upgraded) resolve(result);
    });
    socket.once('connect', () => {
      socket.write(`GET /chat HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffered.subarray(0, end).toString('latin1');
        buffered = buffered.subarray(end + 4);
        result.statusLine = head.split('\r\n')[0] ?? '';
        result.headers = head.split('\r\n').slice(1).join('\n');
        if (!result.statusLine.includes(' 101 ')) {
          socket.destroy();
          resolve(result);
          return;
        }
        upgraded = true;
        next();
      }
      for (;;) {
        const frame = readFrame(buffered);
        if (frame === undefined) return;
        buffered = buffered.subarray(frame.length);
        result.messages.push(frame.payload.toString('utf8'));
        next();
      }
    });
  });
}

function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0)));
  const header = payload.length < 126 ? Buffer.from([0x80 | opcode, 0x80 | payload.length]) : Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, mask, masked]);
}
