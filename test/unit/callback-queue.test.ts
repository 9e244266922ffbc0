import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callbackUrlProblems, MAX_CALLBACK_URL_LENGTH, redactedUrl } from '../../src/scheduler/core/callback-url.ts';
import { afterDelivery, afterFailure, backoffMs, callbackPolicy, emptyQueue, enqueue, type CallbackPolicy, type CallbackQueue, type FailureVerdict } from '../../src/scheduler/core/callback-queue.ts';

const policy: CallbackPolicy = { queueLimit: 3, backoffBaseMs: 500, backoffCapMs: 4000, reportAfterFailures: 3, dropAfterFailures: 5, dropAfterMs: 60_000 };
const queue = (pending: string[], more: Partial<CallbackQueue<string>> = {}): CallbackQueue<string> => ({ ...emptyQueue<string>(), pending, ...more });

test('enqueue keeps the newest events within the limit and counts the gap', async (t) => {
  const cases: Array<[name: string, before: string[], added: string[], after: string[], lost: number]> = [
    ['room for all', [], ['a', 'b'], ['a', 'b'], 0],
    ['exactly full', ['a'], ['b', 'c'], ['a', 'b', 'c'], 0],
    ['one over: the oldest goes', ['a', 'b', 'c'], ['d'], ['b', 'c', 'd'], 1],
    ['a burst larger than the limit', ['a'], ['b', 'c', 'd', 'e', 'f'], ['d', 'e', 'f'], 3],
    ['nothing added', ['a'], [], ['a'], 0],
  ];
  for (const [name, before, added, after, lost] of cases) {
    await t.test(name, () => {
      const result = enqueue(queue(before), added, policy.queueLimit);
      assert.deepEqual(result.queue.pending, after);
      assert.equal(result.lost, lost);
    });
  }
});

test('backoff doubles from the base and stops at the cap', async (t) => {
  const cases: Array<[failures: number, ms: number]> = [[0, 0], [1, 500], [2, 1000], [3, 2000], [4, 4000], [5, 4000], [200, 4000]];
  for (const [failures, ms] of cases) await t.test(`${failures} failures`, () => assert.equal(backoffMs(failures, policy), ms));
});

test('a failure is retried, reported once past the threshold, and dropped only after enough failures over enough time', async (t) => {
  const cases: Array<[name: string, before: Partial<CallbackQueue<string>>, nowMs: number, verdict: FailureVerdict, failures: number, retryAt: number]> = [
    ['the first failure', {}, 1000, 'retry', 1, 1500],
    ['the second', { failures: 1, failingSince: 1000 }, 2000, 'retry', 2, 3000],
    ['the third: reported', { failures: 2, failingSince: 1000 }, 3000, 'report', 3, 5000],
    ['reported already: not again', { failures: 3, failingSince: 1000, reported: true }, 4000, 'retry', 4, 8000],
    ['many failures in a short outage: kept', { failures: 9, failingSince: 1000, reported: true }, 30_000, 'retry', 10, 34_000],
    ['failing long enough, but too few attempts: kept', { failures: 1, failingSince: 1000 }, 120_000, 'retry', 2, 121_000],
    ['enough failures over enough time: dropped', { failures: 4, failingSince: 1000, reported: true }, 61_000, 'drop', 5, 65_000],
    ['dropped even before it was reported', { failures: 4, failingSince: 0 }, 60_000, 'drop', 5, 64_000],
  ];
  for (const [name, before, nowMs, verdict, failures, retryAt] of cases) {
    await t.test(name, () => {
      const result = afterFailure(queue(['a', 'b'], before), nowMs, policy);
      assert.equal(result.verdict, verdict);
      assert.equal(result.queue.failures, failures);
      assert.equal(result.queue.retryAt, retryAt);
      assert.deepEqual(result.queue.pending, ['a', 'b'], 'the failed event stays at the head, for order');
      assert.equal(result.queue.failingSince, before.failingSince ?? nowMs);
    });
  }
});

test('a delivery takes the head and ends the failure run', async (t) => {
  const cases: Array<[name: string, before: Partial<CallbackQueue<string>>, recovered: boolean]> = [
    ['healthy', {}, false],
    ['after unreported failures', { failures: 2, failingSince: 5, retryAt: 99 }, false],
    ['after it was reported', { failures: 7, failingSince: 5, retryAt: 99, reported: true }, true],
  ];
  for (const [name, before, recovered] of cases) {
    await t.test(name, () => {
      const result = afterDelivery(queue(['a', 'b'], before));
      assert.deepEqual(result.queue, { pending: ['b'], failures: 0, retryAt: 0, reported: false });
      assert.equal(result.recovered, recovered);
    });
  }
});

test('the policy for a drop-after limit: backoff within a quarter of it, several tries before a drop', async (t) => {
  const cases: Array<[dropAfterMs: number, base: number, cap: number]> = [
    [300_000, 500, 30_000],
    [60_000, 500, 15_000],
    [2000, 500, 500],
    [1000, 250, 250],
  ];
  for (const [dropAfterMs, base, cap] of cases) {
    await t.test(`${dropAfterMs} ms`, () => {
      const p = callbackPolicy(dropAfterMs);
      assert.deepEqual([p.backoffBaseMs, p.backoffCapMs, p.dropAfterMs], [base, cap, dropAfterMs]);
      // Failing without pause (each attempt fails at once): the drop comes after dropAfterMs, not long after.
      let q = emptyQueue<string>();
      let now = 0;
      for (;;) {
        const r = afterFailure(q, now, p);
        if (r.verdict === 'drop') break;
        q = r.queue;
        now = q.retryAt;
      }
      assert.ok(now >= dropAfterMs && now <= dropAfterMs + p.backoffCapMs * 2, `dropped at ${now} ms`);
    });
  }
});

test('callbackUrlProblems: absolute http(s) URLs only, of bounded length', async (t) => {
  const cases: Array<[raw: unknown, ok: boolean]> = [
    ['http://127.0.0.1:9292/callback', true],
    ['https://hooks.example.com/marathon?token=abc', true],
    ['http://user:pw@example.com/cb', true],
    [undefined, false],
    ['', false],
    [['http://a/', 'http://b/'], false],
    ['/relative/path', false],
    ['ftp://example.com/x', false],
    ['file:///etc/passwd', false],
    ['javascript:alert(1)', false],
    [`http://example.com/${'x'.repeat(MAX_CALLBACK_URL_LENGTH)}`, false],
  ];
  for (const [raw, ok] of cases) await t.test(JSON.stringify(raw)?.slice(0, 60) ?? 'undefined', () => assert.equal(callbackUrlProblems(raw).length === 0, ok, callbackUrlProblems(raw).join()));
});

test('redactedUrl drops user info and query, which may hold credentials', async (t) => {
  const cases: Array<[raw: string, shown: string]> = [
    ['http://127.0.0.1:9292/callback', 'http://127.0.0.1:9292/callback'],
    ['https://user:secret@hooks.example.com/cb?token=abc', 'https://hooks.example.com/cb?…'],
    ['not a url', '(not a URL)'],
  ];
  for (const [raw, shown] of cases) await t.test(shown, () => assert.equal(redactedUrl(raw), shown));
});
