import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullBucket, takeToken, type Bucket, type BucketLimits } from '../../src/scheduler/core/token-bucket.ts';

const limits: BucketLimits = { ratePerSecond: 20, burst: 100 };

test('takeToken allows a burst, then the rate, and says when to retry', async (t) => {
  const cases: Array<[name: string, bucket: Bucket, nowMs: number, allowed: boolean, tokensAfter: number, retryAfterMs?: number]> = [
    ['a full bucket', fullBucket(limits, 0), 0, true, 99],
    ['the last token', { tokens: 1, atMs: 0 }, 0, true, 0],
    ['empty', { tokens: 0, atMs: 0 }, 0, false, 0, 50],
    ['almost a token', { tokens: 0.5, atMs: 0 }, 0, false, 0.5, 25],
    ['refilled by 50 ms at 20/s', { tokens: 0, atMs: 0 }, 50, true, 0],
    ['refilled by 1 s', { tokens: 0, atMs: 0 }, 1000, true, 19],
    ['never above the burst', { tokens: 90, atMs: 0 }, 3_600_000, true, 99],
    ['a clock that went back refills nothing', { tokens: 0, atMs: 1000 }, 0, false, 0, 50],
  ];
  for (const [name, bucket, nowMs, allowed, tokensAfter, retryAfterMs] of cases) {
    await t.test(name, () => {
      const take = takeToken(bucket, limits, nowMs);
      assert.equal(take.allowed, allowed);
      assert.ok(Math.abs(take.bucket.tokens - tokensAfter) < 1e-9, `${take.bucket.tokens} tokens left`);
      assert.equal(take.allowed ? undefined : take.retryAfterMs, retryAfterMs);
      assert.ok(take.bucket.atMs >= bucket.atMs, 'the bucket\'s time never goes back');
    });
  }
});

test('a flood at one instant gets exactly the burst through; the rate holds after', () => {
  let bucket = fullBucket(limits, 0);
  let allowed = 0;
  for (let i = 0; i < 1000; i += 1) {
    const take = takeToken(bucket, limits, 0);
    bucket = take.bucket;
    if (take.allowed) allowed += 1;
  }
  assert.equal(allowed, 100);
  // One request every 10 ms for 10 s: 20/s of them get through.
  let later = 0;
  for (let ms = 10; ms <= 10_000; ms += 10) {
    const take = takeToken(bucket, limits, ms);
    bucket = take.bucket;
    if (take.allowed) later += 1;
  }
  assert.equal(later, 200);
});
