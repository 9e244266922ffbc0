import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cryptHash, isPasswordHash, verifyPassword } from '../../src/lb/core/password-hash.ts';

// Vectors from glibc/libxcrypt crypt(3) (Python's crypt module) and `openssl passwd -1/-5/-6`.
const VECTORS: [password: string, hash: string][] = [
  ['s3cret', '$2b$05$abcdefghijklmnopqrstuuLK7U1u6pVRmL7L1BBM2aS35PSZnDXlK'],
  ['s3cret', '$2a$04$abcdefghijklmnopqrstuuLZYjhNQAOdpbzt4WxWlUHjv1wsyH5DG'],
  ['', '$2b$04$abcdefghijklmnopqrstuubyCG3zY1GIXMyxfivm.ClDiInHzxjiq'],
  ['s3cret', '$6$saltsalt$As4wrv0kZlfch1du9WeH7qhskyLriQWySXrZzynnvi46nFnNxjdpl6ksRegrrKexvhIa/Iny8S8uF3fVWTMuC1'],
  ['s3cret', '$6$rounds=1000$saltsalt$zcCvYcDM8j0aB28drG.Vwe4L4mnOkoRyg3Q.Bu7J9v6yK9aKDDPiDDlrOhF03cpnd3KFfSzTDNEBa0iVYm2H90'],
  ['s3cret', '$5$saltsalt$i1q2ZQzc.tl/BQ6CHiENAcVDvEY6nJ1OWlWXKh94b1.'],
  ['s3cret', '$1$saltsalt$RwMqRjSWhXMKbW72DwzGd1'],
  ['a much longer password exceeding sixty four bytes of length......!!', '$6$x$4/uIse0MEIH/FHUAJErfhDMe0w8XBLt21wztLa.A74.I/G4vseUPTO2pH0qsXgOXKL6sXJ34CnmIx44aiJzjR.'],
];

test('cryptHash reproduces crypt(3) for bcrypt, SHA-512/256 crypt and MD5 crypt', async (t) => {
  for (const [password, hash] of VECTORS) {
    await t.test(hash.slice(0, 7), () => {
      assert.equal(cryptHash(password, hash), hash);
      assert.equal(verifyPassword(password, hash), true);
      assert.equal(verifyPassword(`${password}x`, hash), false);
    });
  }
});

test('isPasswordHash accepts only complete hashes it can check', () => {
  for (const [, hash] of VECTORS) assert.equal(isPasswordHash(hash), true, hash);
  for (const bad of ['secret', '$2b$05$abcdefghijklmnopqrstuu', '$2b$03$abcdefghijklmnopqrstuuLK7U1u6pVRmL7L1BBM2aS35PSZnDXlK', '$7$x$y', '$1$toolongsalt$RwMqRjSWhXMKbW72DwzGd1']) {
    assert.equal(isPasswordHash(bad), false, bad);
  }
  assert.equal(verifyPassword('s3cret', 'not-a-hash'), false);
});
