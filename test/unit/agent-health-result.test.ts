import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initialHealthResult, nextResult, type ProbeOutcome } from '../../src/agent/health/core/health-result.ts';
import { commandExitOutcome, firstProbeDelaySeconds, healthCheckUrl, httpStatusOutcome, probeKindOf, resolveHealthPort } from '../../src/agent/health/core/probe-rules.ts';
import type { HealthCheck, HealthResult } from '../../src/shared/agent-protocol.ts';

const START = Date.parse('2024-01-01T00:00:00.000Z');
const at = (seconds: number): string => new Date(START + seconds * 1000).toISOString();

const check = (overrides: Partial<HealthCheck> = {}): HealthCheck => ({
  protocol: 'HTTP', path: '/', portIndex: 0, gracePeriodSeconds: 300, intervalSeconds: 60, timeoutSeconds: 20,
  maxConsecutiveFailures: 3, delaySeconds: 15, ignoreHttp1xx: false, ...overrides,
});

const ok: ProbeOutcome = { kind: 'healthy' };
const CAUSE = '500 Internal Server Error';
const bad: ProbeOutcome = { kind: 'unhealthy', cause: CAUSE };
const info: ProbeOutcome = { kind: 'ignored', cause: '102 Processing' };
const initial = initialHealthResult();
const healthy = (since: number, last = since): HealthResult => ({ ...initial, alive: true, firstSuccess: at(since), lastSuccess: at(last) });
const failing = (count: number, when: number, base: HealthResult = initial): HealthResult => ({
  ...base, alive: false, consecutiveFailures: count, lastFailure: at(when), lastFailureCause: CAUSE,
});

test('nextResult: table', async (t) => {
  const cases: Array<{ name: string; previous: HealthResult; outcome: ProbeOutcome; atSec: number; check?: HealthCheck; result: HealthResult; report: boolean }> = [
    { name: 'first success: alive, both success stamps, reported', previous: initial, outcome: ok, atSec: 20, result: healthy(20), report: true },
    { name: 'another success: only lastSuccess moves, not reported', previous: healthy(20), outcome: ok, atSec: 80, result: healthy(20, 80), report: false },
    { name: 'failure in the grace period before any success: dropped', previous: initial, outcome: bad, atSec: 299, result: initial, report: false },
    { name: 'grace period ends at started + grace exactly', previous: initial, outcome: bad, atSec: 300, result: failing(1, 300), report: true },
    { name: 'first counted failure is the first result: reported though alive stays false', previous: initial, outcome: bad, atSec: 400, result: failing(1, 400), report: true },
    { name: 'after a first success, failures count even within the grace period (flip)', previous: healthy(20), outcome: bad, atSec: 30, result: failing(1, 30, healthy(20)), report: true },
    { name: 'second failure below the threshold: reported (each failure is a failed_health_check_event)', previous: failing(1, 400), outcome: bad, atSec: 460, result: failing(2, 460), report: true },
    { name: 'failure reaching maxConsecutiveFailures: reported', previous: failing(2, 460), outcome: bad, atSec: 520, result: failing(3, 520), report: true },
    { name: 'failures past the threshold: reported, each', previous: failing(3, 520), outcome: bad, atSec: 580, result: failing(4, 580), report: true },
    { name: 'maxConsecutiveFailures 0: failures are still reported (the scheduler never kills for them)', previous: failing(2, 460), outcome: bad, atSec: 520, check: check({ maxConsecutiveFailures: 0 }), result: failing(3, 520), report: true },
    { name: 'maxConsecutiveFailures 1: the first counted failure is both first result and threshold', previous: initial, outcome: bad, atSec: 400, check: check({ maxConsecutiveFailures: 1 }), result: failing(1, 400), report: true },
    { name: 'success after failures resets the count and flips alive', previous: failing(4, 580), outcome: ok, atSec: 640, result: { ...failing(4, 580), alive: true, consecutiveFailures: 0, firstSuccess: at(640), lastSuccess: at(640) }, report: true },
    { name: 'ignored (1xx) changes nothing, before any result', previous: initial, outcome: info, atSec: 400, result: initial, report: false },
    { name: 'ignored (1xx) changes nothing while alive', previous: healthy(20), outcome: info, atSec: 400, result: healthy(20), report: false },
    { name: 'ignored (1xx) does not count as a failure either', previous: failing(2, 460), outcome: info, atSec: 520, result: failing(2, 460), report: false },
    { name: 'zero grace period counts the very first failure', previous: initial, outcome: bad, atSec: 0, check: check({ gracePeriodSeconds: 0 }), result: failing(1, 0), report: true },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const transition = nextResult(c.previous, c.outcome, c.check ?? check(), { nowMs: START + c.atSec * 1000, startedMs: START });
      assert.deepEqual(transition.result, c.result);
      assert.equal(transition.report, c.report);
    });
  }
});

test('nextResult says why a probe did not count', () => {
  const clock = { nowMs: START + 1000, startedMs: START };
  assert.equal(nextResult(initial, bad, check(), clock).skipped, 'grace-period');
  assert.equal(nextResult(initial, info, check(), clock).skipped, 'ignored');
  assert.equal(nextResult(initial, ok, check(), clock).skipped, undefined);
});

test('nextResult never mutates the previous result', () => {
  const previous = Object.freeze(healthy(20));
  nextResult(previous, bad, check(), { nowMs: START + 30_000, startedMs: START });
  nextResult(previous, ok, check(), { nowMs: START + 30_000, startedMs: START });
});

test('httpStatusOutcome: Marathon accepts 200–399 and may ignore 1xx', async (t) => {
  const cases: Array<[status: number, ignore1xx: boolean, kind: ProbeOutcome['kind']]> = [
    [200, false, 'healthy'], [204, false, 'healthy'], [301, false, 'healthy'], [399, false, 'healthy'],
    [400, false, 'unhealthy'], [404, false, 'unhealthy'], [500, false, 'unhealthy'], [503, true, 'unhealthy'],
    [100, false, 'unhealthy'], [102, true, 'ignored'], [199, true, 'ignored'], [199, false, 'unhealthy'],
  ];
  for (const [status, ignore, kind] of cases) {
    await t.test(`${status} ignoreHttp1xx=${ignore} → ${kind}`, () => assert.equal(httpStatusOutcome(status, ignore).kind, kind));
  }
  assert.deepEqual(httpStatusOutcome(500, false, 'Internal Server Error'), { kind: 'unhealthy', cause: '500 Internal Server Error' });
  assert.deepEqual(httpStatusOutcome(599, false), { kind: 'unhealthy', cause: 'HTTP status 599' });
});

test('resolveHealthPort: port wins, else the host port at portIndex', () => {
  assert.deepEqual(resolveHealthPort(check({ port: 8080, portIndex: 1 }), [31000, 31001]), { port: 8080 });
  assert.deepEqual(resolveHealthPort(check({ portIndex: 1 }), [31000, 31001]), { port: 31001 });
  assert.deepEqual(resolveHealthPort(check({ portIndex: undefined }), [31000]), { port: 31000 });
  assert.deepEqual(resolveHealthPort(check({ port: 0, portIndex: 0 }), [31000]), { port: 31000 });
  assert.ok('error' in resolveHealthPort(check({ portIndex: 2 }), [31000]));
});

test('probe kinds, URLs and command exits', () => {
  assert.deepEqual((['HTTP', 'MESOS_HTTP', 'HTTPS', 'MESOS_HTTPS', 'TCP', 'MESOS_TCP', 'COMMAND'] as const).map(probeKindOf),
    ['http', 'http', 'https', 'https', 'tcp', 'tcp', 'command']);
  assert.equal(healthCheckUrl('http', '127.0.0.1', 31000, '/health'), 'http://127.0.0.1:31000/health');
  assert.equal(healthCheckUrl('https', '::1', 31000, 'ping'), 'https://[::1]:31000/ping');
  assert.deepEqual(commandExitOutcome(0, null), { kind: 'healthy' });
  assert.deepEqual(commandExitOutcome(1, null), { kind: 'unhealthy', cause: 'command exited with status 1' });
  assert.deepEqual(commandExitOutcome(null, 'SIGKILL'), { kind: 'unhealthy', cause: 'command killed by signal SIGKILL' });
});

test('the first probe: at once for Marathon-level checks, after delaySeconds for Mesos-level ones', () => {
  const cases = [
    ['HTTP', 0], ['HTTPS', 0], ['TCP', 0],
    ['COMMAND', 15], ['MESOS_HTTP', 15], ['MESOS_HTTPS', 15], ['MESOS_TCP', 15],
  ] as const;
  for (const [protocol, seconds] of cases) assert.equal(firstProbeDelaySeconds(check({ protocol, delaySeconds: 15 })), seconds, protocol);
});
