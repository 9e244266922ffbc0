/** A token bucket's state: tokens left (fractional) and when they were counted. */
export interface Bucket {
  tokens: number;
  atMs: number;
}

export interface BucketLimits {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Most tokens held: the largest burst allowed at once. */
  burst: number;
}

export type Take = { allowed: true; bucket: Bucket } | { allowed: false; bucket: Bucket; retryAfterMs: number };

/** A full bucket at `nowMs`. */
export const fullBucket = (limits: BucketLimits, nowMs: number): Bucket => ({ tokens: limits.burst, atMs: nowMs });

/**
 * Takes one token at `nowMs`: refills for the time since the bucket was last counted (a clock
 * that went back refills nothing), then allows the request if a whole token is there.
 */
export function takeToken(bucket: Bucket, limits: BucketLimits, nowMs: number): Take {
  const elapsedMs = Math.max(0, nowMs - bucket.atMs);
  const tokens = Math.min(limits.burst, bucket.tokens + (elapsedMs * limits.ratePerSecond) / 1000);
  const atMs = Math.max(nowMs, bucket.atMs);
  if (tokens >= 1) return { allowed: true, bucket: { tokens: tokens - 1, atMs } };
  return { allowed: false, bucket: { tokens, atMs }, retryAfterMs: Math.ceil(((1 - tokens) * 1000) / limits.ratePerSecond) };
}
