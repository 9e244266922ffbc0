/**
 * Password hashes of `HAPROXY_{n}_AUTH`, checked the way HAProxy's `userlist` checks them with
 * crypt(3): bcrypt (`$2a$`, `$2b$`, `$2y$`), SHA-512 / SHA-256 crypt (`$6$`, `$5$`, what
 * `mkpasswd -m sha-512` prints, marathon-lb's documented example) and MD5 crypt (`$1$`).
 * node:crypto has no bcrypt, so it is written out here (Provos and Mazières, 1999).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

const BCRYPT = /^\$2[aby]\$(\d\d)\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})?$/;
const SHA_CRYPT = /^\$([56])\$(?:rounds=(\d{1,9})\$)?([^$]{0,16})\$([./0-9A-Za-z]+)$/;
const MD5_CRYPT = /^\$1\$([^$]{0,8})\$([./0-9A-Za-z]{22})$/;

/** True for a hash `verifyPassword` can check. */
export function isPasswordHash(hash: string): boolean {
  const bcrypt = BCRYPT.exec(hash);
  if (bcrypt) return bcrypt[3] !== undefined && Number(bcrypt[1]) >= 4 && Number(bcrypt[1]) <= 31;
  return SHA_CRYPT.test(hash) || MD5_CRYPT.test(hash);
}

/** Checks `password` against `hash` in constant time over the hash output. */
export function verifyPassword(password: string, hash: string): boolean {
  const computed = cryptHash(password, hash);
  if (computed === undefined || computed.length !== hash.length) return false;
  return timingSafeEqual(Buffer.from(computed), Buffer.from(hash));
}

/** Hashes `password` with the algorithm, cost and salt of `setting` (a full hash works as setting). */
export function cryptHash(password: string, setting: string): string | undefined {
  const key = Buffer.from(password, 'utf8');
  const bcrypt = BCRYPT.exec(setting);
  if (bcrypt) return Number(bcrypt[1]) >= 4 && Number(bcrypt[1]) <= 31 ? bcryptHash(key, setting.slice(0, 4), Number(bcrypt[1]), bcrypt[2] ?? '') : undefined;
  const sha = SHA_CRYPT.exec(setting);
  if (sha) return shaCrypt(key, sha[1] === '6' ? 'sha512' : 'sha256', sha[2], sha[3] ?? '');
  const md5 = MD5_CRYPT.exec(setting);
  if (md5) return md5Crypt(key, md5[1] ?? '');
  return undefined;
}

function digest(algorithm: string, ...parts: Buffer[]): Buffer {
  const hash = createHash(algorithm);
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** Bytes `b2 b1 b0` as 24 bits, `count` characters, least significant six bits first. */
function to64(b2: number, b1: number, b0: number, count: number): string {
  let word = (b2 << 16) | (b1 << 8) | b0;
  let text = '';
  for (let i = 0; i < count; i += 1) {
    text += CRYPT_ALPHABET[word & 0x3f];
    word >>= 6;
  }
  return text;
}

/** Drepper's SHA-crypt (glibc `$5$`/`$6$`). */
function shaCrypt(key: Buffer, algorithm: 'sha256' | 'sha512', roundsText: string | undefined, saltText: string): string {
  const salt = Buffer.from(saltText, 'utf8').subarray(0, 16);
  const rounds = roundsText === undefined ? 5000 : Math.min(999_999_999, Math.max(1000, Number(roundsText)));
  const size = algorithm === 'sha512' ? 64 : 32;
  const b = digest(algorithm, key, salt, key);
  const a = createHash(algorithm).update(key).update(salt);
  let left = key.length;
  for (; left > size; left -= size) a.update(b);
  a.update(b.subarray(0, left));
  for (let bits = key.length; bits > 0; bits >>= 1) a.update(bits & 1 ? b : key);
  let current: Buffer = a.digest();
  const dp = digest(algorithm, ...Array<Buffer>(key.length).fill(key));
  const p = repeatTo(dp, key.length);
  const ds = digest(algorithm, ...Array<Buffer>(16 + (current[0] ?? 0)).fill(salt));
  current = mixRounds(algorithm, rounds, current, p, repeatTo(ds, salt.length));
  const byte = (index: number): number => current[index] ?? 0;
  let encoded = '';
  if (size === 64) {
    for (let i = 0; i < 21; i += 1) {
      const x = (i * 22) % 63;
      encoded += to64(byte(x), byte((x + 21) % 63), byte((x + 42) % 63), 4);
    }
    encoded += to64(0, 0, byte(63), 2);
  } else {
    for (let i = 0; i < 10; i += 1) {
      const x = (i * 21) % 30;
      encoded += to64(byte(x), byte((x + 10) % 30), byte((x + 20) % 30), 4);
    }
    encoded += to64(0, byte(31), byte(30), 3);
  }
  const roundsPart = roundsText === undefined ? '' : `rounds=${rounds}$`;
  return `$${size === 64 ? 6 : 5}$${roundsPart}${salt.toString('utf8')}$${encoded}`;
}

/** The stretching loop MD5-crypt introduced and SHA-crypt kept: key and salt folded into the digest, round after round. */
function mixRounds(algorithm: string, rounds: number, first: Buffer, key: Buffer, salt: Buffer): Buffer {
  let current = first;
  for (let i = 0; i < rounds; i += 1) {
    const c = createHash(algorithm);
    c.update(i & 1 ? key : current);
    if (i % 3) c.update(salt);
    if (i % 7) c.update(key);
    c.update(i & 1 ? current : key);
    current = c.digest();
  }
  return current;
}

function repeatTo(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += block.length) block.copy(out, i, 0, Math.min(block.length, length - i));
  return out;
}

/** Poul-Henning Kamp's MD5 crypt (`$1$`). */
function md5Crypt(key: Buffer, saltText: string): string {
  const salt = Buffer.from(saltText, 'utf8').subarray(0, 8);
  const magic = Buffer.from('$1$');
  let final = digest('md5', key, salt, key);
  const ctx = createHash('md5').update(key).update(magic).update(salt);
  for (let left = key.length; left > 0; left -= 16) ctx.update(final.subarray(0, Math.min(left, 16)));
  const zero = Buffer.from([0]);
  const first = key.subarray(0, 1);
  for (let bits = key.length; bits > 0; bits >>= 1) ctx.update(bits & 1 ? zero : first);
  final = mixRounds('md5', 1000, ctx.digest(), key, salt);
  const f = (index: number): number => final[index] ?? 0;
  const encoded =
    to64(f(0), f(6), f(12), 4) + to64(f(1), f(7), f(13), 4) + to64(f(2), f(8), f(14), 4) +
    to64(f(3), f(9), f(15), 4) + to64(f(4), f(10), f(5), 4) + to64(0, 0, f(11), 2);
  return `$1$${salt.toString('utf8')}$${encoded}`;
}

let blowfishInit: Uint32Array | undefined;

/**
 * Blowfish's initial P-array and S-boxes are the fractional hex digits of pi (18 + 1024 words).
 * Computed once, on first use, with Machin's formula rather than pasted as 4 KB of constants.
 */
function blowfishInitialState(): Uint32Array {
  if (blowfishInit) return blowfishInit;
  const words = 18 + 1024;
  const bits = BigInt(words * 32 + 64);
  const one = 1n << bits;
  const arctanInverse = (x: bigint): bigint => {
    let sum = 0n;
    let power = one / x;
    const xx = x * x;
    for (let k = 1n; power !== 0n; k += 2n) {
      sum += ((k >> 1n) & 1n ? -power : power) / k;
      power /= xx;
    }
    return sum;
  };
  const pi = 16n * arctanInverse(5n) - 4n * arctanInverse(239n);
  const fraction = (pi & (one - 1n)) >> 64n;
  const state = new Uint32Array(words);
  for (let i = 0; i < words; i += 1) state[i] = Number((fraction >> BigInt((words - 1 - i) * 32)) & 0xffffffffn);
  blowfishInit = state;
  return state;
}

function bcryptHash(password: Buffer, prefix: string, cost: number, saltText: string): string | undefined {
  const salt = bcryptDecode(saltText, 16);
  if (salt === undefined) return undefined;
  // $2a$/$2b$/$2y$: the key is the password with its terminating NUL, at most 72 bytes.
  const key = Buffer.concat([password, Buffer.from([0])]).subarray(0, 72);
  const state = blowfishInitialState().slice();
  const p = state.subarray(0, 18);
  const sBoxes = state.subarray(18);
  const block = new Uint32Array(2);

  const f = (x: number): number =>
    ((((sBoxes[x >>> 24] ?? 0) + (sBoxes[256 + ((x >>> 16) & 0xff)] ?? 0)) ^ (sBoxes[512 + ((x >>> 8) & 0xff)] ?? 0)) + (sBoxes[768 + (x & 0xff)] ?? 0)) >>> 0;
  const encrypt = (): void => {
    let l = block[0] ?? 0;
    let r = block[1] ?? 0;
    for (let i = 0; i < 16; i += 2) {
      l = (l ^ (p[i] ?? 0)) >>> 0;
      r = (r ^ f(l)) >>> 0;
      r = (r ^ (p[i + 1] ?? 0)) >>> 0;
      l = (l ^ f(r)) >>> 0;
    }
    block[0] = (r ^ (p[17] ?? 0)) >>> 0;
    block[1] = (l ^ (p[16] ?? 0)) >>> 0;
  };
  const streamWord = (data: Buffer, position: { at: number }): number => {
    let word = 0;
    for (let i = 0; i < 4; i += 1) {
      word = ((word << 8) | (data[position.at] ?? 0)) >>> 0;
      position.at = (position.at + 1) % data.length;
    }
    return word;
  };
  const expand = (data: Buffer | undefined, keyBytes: Buffer): void => {
    const keyAt = { at: 0 };
    for (let i = 0; i < 18; i += 1) p[i] = ((p[i] ?? 0) ^ streamWord(keyBytes, keyAt)) >>> 0;
    const dataAt = { at: 0 };
    block[0] = 0;
    block[1] = 0;
    for (let i = 0; i < state.length; i += 2) {
      if (data) {
        block[0] = ((block[0] ?? 0) ^ streamWord(data, dataAt)) >>> 0;
        block[1] = ((block[1] ?? 0) ^ streamWord(data, dataAt)) >>> 0;
      }
      encrypt();
      state[i] = block[0] ?? 0;
      state[i + 1] = block[1] ?? 0;
    }
  };

  expand(salt, key);
  for (let round = 2 ** cost; round > 0; round -= 1) {
    expand(undefined, key);
    expand(undefined, salt);
  }
  const text = Buffer.from('OrpheanBeholderScryDoubt');
  const words = new Uint32Array(6);
  for (let i = 0; i < 6; i += 1) words[i] = text.readUInt32BE(i * 4);
  for (let i = 0; i < 6; i += 2) {
    block[0] = words[i] ?? 0;
    block[1] = words[i + 1] ?? 0;
    for (let n = 0; n < 64; n += 1) encrypt();
    words[i] = block[0] ?? 0;
    words[i + 1] = block[1] ?? 0;
  }
  const out = Buffer.alloc(24);
  for (let i = 0; i < 6; i += 1) out.writeUInt32BE(words[i] ?? 0, i * 4);
  return `${prefix}${String(cost).padStart(2, '0')}$${saltText}${bcryptEncode(out.subarray(0, 23))}`;
}

function bcryptEncode(data: Buffer): string {
  let text = '';
  for (let i = 0; i < data.length; i += 3) {
    const b0 = data[i] ?? 0;
    const b1 = data[i + 1] ?? 0;
    const b2 = data[i + 2] ?? 0;
    text += BCRYPT_ALPHABET[b0 >> 2];
    text += BCRYPT_ALPHABET[((b0 & 0x03) << 4) | (b1 >> 4)];
    if (i + 1 >= data.length) break;
    text += BCRYPT_ALPHABET[((b1 & 0x0f) << 2) | (b2 >> 6)];
    if (i + 2 >= data.length) break;
    text += BCRYPT_ALPHABET[b2 & 0x3f];
  }
  return text;
}

function bcryptDecode(text: string, length: number): Buffer | undefined {
  const values = [...text].map((c) => BCRYPT_ALPHABET.indexOf(c));
  if (values.some((v) => v < 0)) return undefined;
  const out: number[] = [];
  for (let i = 0; i + 1 < values.length && out.length < length; i += 4) {
    const [c0 = 0, c1 = 0, c2, c3] = values.slice(i, i + 4);
    out.push(((c0 << 2) | (c1 >> 4)) & 0xff);
    if (c2 === undefined || out.length >= length) continue;
    out.push(((c1 << 4) | (c2 >> 2)) & 0xff);
    if (c3 === undefined || out.length >= length) continue;
    out.push(((c2 << 6) | c3) & 0xff);
  }
  return Buffer.from(out);
}
