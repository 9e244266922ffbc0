/**
 * Password hashes of `HAPROXY_{n}_AUTH`, checked the way HAProxy's `userlist` checks them with
 * crypt(3): bcrypt (`$2a$`, `$2b$`, `$2y$`, by bcryptjs), SHA-512 / SHA-256 crypt (`$6$`, `$5$`,
 * what `mkpasswd -m sha-512` prints, marathon-lb's documented example) and MD5 crypt (`$1$`).
 * No kept library does the last two, and node:crypto has their digests: they are written out here.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const BCRYPT = /^\$2[aby]\$(\d\d)\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})?$/;
const SHA_CRYPT = /^\$([56])\$(?:rounds=(\d{1,9})\$)?([^$]{0,16})\$([./0-9A-Za-z]+)$/;
const MD5_CRYPT = /^\$1\$([^$]{0,8})\$([./0-9A-Za-z]{22})$/;

/** True for a hash `verifyPassword` can check. */
export function isPasswordHash(hash: string): boolean {
  const blowfish = BCRYPT.exec(hash);
  if (blowfish) return blowfish[3] !== undefined && Number(blowfish[1]) >= 4 && Number(blowfish[1]) <= 31;
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
  const blowfish = BCRYPT.exec(setting);
  // `$2b$NN$` and the 22 characters of salt; the rest is the hash being checked.
  if (blowfish) return Number(blowfish[1]) >= 4 && Number(blowfish[1]) <= 31 ? bcrypt.hashSync(password, setting.slice(0, 29)) : undefined;
  const key = Buffer.from(password, 'utf8');
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

