import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentSuffix, canonicalLabel, canonicalName, domainFragment, sanitizeLabel, taskIdHash, taskLabel, taskNames } from '../../src/dns/core/names.ts';
import { marathonTaskName } from '../../src/shared/marathon-names.ts';
import { MESOS_DNS_NAMES } from '../support/dns-mesos-names.ts';

interface NameFixtures {
  labels: { in: string; rfc1123?: string; rfc952?: string }[];
  fragments: { in: string; fragment1123?: string; fragment952?: string }[];
  marathonTaskNames: { appId: string; taskName: string; label: string }[];
  taskIdHash: { cases: { taskId: string; hash: string }[] };
  agentSuffix: { cases: { agentId: string; suffix: string }[] };
}

const fixtures: NameFixtures = MESOS_DNS_NAMES;

test('sanitizeLabel matches Mesos-DNS RFC 1123 labels', () => {
  const cases = fixtures.labels.filter((c) => c.rfc1123 !== undefined);
  assert.ok(cases.length > 5);
  for (const c of cases) assert.equal(sanitizeLabel(c.in), c.rfc1123, `input ${JSON.stringify(c.in)}`);
});

test('sanitizeLabel matches Mesos-DNS RFC 952 labels', () => {
  for (const c of fixtures.labels.filter((c) => c.rfc952 !== undefined)) {
    assert.equal(sanitizeLabel(c.in, { rfc952: true }), c.rfc952, `input ${JSON.stringify(c.in)}`);
  }
});

test('sanitizeLabel cuts to 63 characters and never ends with -', () => {
  assert.equal(sanitizeLabel('a'.repeat(80)), 'a'.repeat(63));
  assert.equal(sanitizeLabel(`${'a'.repeat(62)}_b`), 'a'.repeat(62));
  assert.equal(sanitizeLabel('$$$'), '');
});

test('Marathon task names and task labels from app ids', () => {
  assert.ok(fixtures.marathonTaskNames.length > 0);
  for (const c of fixtures.marathonTaskNames) {
    assert.equal(marathonTaskName(c.appId), c.taskName, c.appId);
    assert.equal(taskLabel(c.appId), c.label, c.appId);
  }
});

test('task id hash is z-base-32 of SHA-1, 5 characters', () => {
  assert.ok(fixtures.taskIdHash.cases.length > 0);
  for (const c of fixtures.taskIdHash.cases) assert.equal(taskIdHash(c.taskId), c.hash, c.taskId);
});

test('agent suffix is the last field of the agent id, lower-cased', () => {
  for (const c of fixtures.agentSuffix.cases) assert.equal(agentSuffix(c.agentId), c.suffix, c.agentId);
});

test('canonical label is T-H-S and stays a valid label', () => {
  const cases: [label: string, taskId: string, agentId: string, expected: string][] = [
    ['web', 'nginx.48dccce7-90bc-11e6-ae70-70b3d5800001', '20160107-001256-134875658-5050-27524-S3', 'web-jhy6r-s3'],
    ['api-backend-prod', 'test', 'a1b2-2410-0', 'api-backend-prod-iffe9-0'],
    ['web', 'test', 'odd_agent!', 'web-iffe9-odd-agent'],
    ['web', 'test', 'ends-with-', 'web-iffe9'],
  ];
  for (const [label, taskId, agentId, expected] of cases) assert.equal(canonicalLabel(label, taskId, agentId), expected);

  const long = canonicalLabel('x'.repeat(63), 'test', 'a1b2-2410-S12');
  assert.equal(long.length, 63);
  assert.ok(long.endsWith('-iffe9-s12'), long);
});

test('domainFragment matches Mesos-DNS domain fragments (each label sanitized, empty ones dropped)', () => {
  assert.ok(fixtures.fragments.length > 0);
  for (const c of fixtures.fragments) {
    if (c.fragment1123 !== undefined) assert.equal(domainFragment(c.in), c.fragment1123, `input ${JSON.stringify(c.in)}`);
    if (c.fragment952 !== undefined) assert.equal(domainFragment(c.in, { rfc952: true }), c.fragment952, `input ${JSON.stringify(c.in)} (rfc952)`);
  }
  assert.equal(domainFragment('..a..b.'), 'a.b');
  assert.equal(domainFragment('$.$'), '');
});

test('taskNames: the one-label name, then Mesos-DNS\' discovery-name form when it differs (table-driven)', () => {
  const cases: [appId: string, rfc952: boolean, expected: string[]][] = [
    ['/web', false, ['web']],
    ['/team/web', false, ['web-team', 'web.team']],
    ['/prod/backend/api', false, ['api-backend-prod', 'api.backend.prod']],
    ['/1team/9web', true, ['web-1team', 'web.team']],
    ['/$$$', false, []],
  ];
  for (const [appId, rfc952, expected] of cases) assert.deepEqual(taskNames(appId, { rfc952 }), expected, appId);
});

test('canonicalName: T-H-S on the last label of a dotted name', () => {
  const cases: [name: string, expected: string][] = [
    ['web', 'web-iffe9-s3'],
    ['web.team', 'web.team-iffe9-s3'],
    [`web.${'t'.repeat(63)}`, `web.${'t'.repeat(54)}-iffe9-s3`],
  ];
  for (const [name, expected] of cases) assert.equal(canonicalName(name, 'test', 'x-S3'), expected, name);
});
