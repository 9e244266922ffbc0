import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import {
  MAX_AGENT_TOKEN_LENGTH,
  agentTokenKey,
  agentTokenKeyOfCredential,
  bearerToken,
  encodeAgentToken,
  isScrapeToken,
  permits,
  verifyAgentToken,
  type AgentTokenClaims,
  type AgentTokenNeed,
} from '../../src/auth/core/agent-tokens.ts';
import { hashSecret } from '../../src/auth/core/tokens.ts';

const SECRET = 'Zk3cT1o2Yw8xV5pLrQ7mN4bH6jD9sA0eU1iO3uY5tR8';
const CREDENTIAL = `cred-1.${SECRET}`;
const KEY = agentTokenKey(hashSecret(SECRET));
const OTHER_KEY = agentTokenKey(hashSecret(`${SECRET.slice(0, -1)}9`));
const NOW = 1_700_000_000_000;
const claims: AgentTokenClaims = { agentId: 'agent-1', scope: 'files', taskIds: ['team-a_web.1'], expiresAt: NOW + 300_000 };
const good = encodeAgentToken(claims, KEY);
const [version, payload, mac] = good.split('.') as [string, string, string];

/** `text` with the character at `index` replaced by another base64url character. */
/** A MAC as the module computes it (HMAC-SHA256 with the key over "cat1.<payload>"), to sign claims it would never encode. */
const macFor = (signed: string): string => createHmac('sha256', KEY).update(signed).digest('base64url');

function flip(text: string, index: number): string {
  const at = index < 0 ? text.length + index : index;
  return `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
}

test('the agent derives the key the scheduler derives from the hash it keeps', () => {
  assert.deepEqual(agentTokenKeyOfCredential(CREDENTIAL), KEY);
  assert.equal(agentTokenKeyOfCredential('not a credential'), undefined);
  // The key is not the stored hash itself.
  assert.notEqual(KEY.toString('hex'), hashSecret(SECRET));
});

test('verifyAgentToken accepts a token of its own key and refuses everything else', async (t) => {
  const cases: Array<[name: string, token: string, key: Buffer, expect: { agentId: string; nowMs: number }, outcome: AgentTokenClaims | RegExp]> = [
    ['good', good, KEY, { agentId: 'agent-1', nowMs: NOW }, claims],
    ['good until the last millisecond', good, KEY, { agentId: 'agent-1', nowMs: claims.expiresAt - 1 }, claims],
    ['expired', good, KEY, { agentId: 'agent-1', nowMs: claims.expiresAt }, /expired/],
    ['wrong agent (same key)', good, KEY, { agentId: 'agent-2', nowMs: NOW }, /for agent agent-1, not this one/],
    ['another agent\'s key', good, OTHER_KEY, { agentId: 'agent-1', nowMs: NOW }, /not issued for this agent, or was altered/],
    ['claims altered', `${version}.${Buffer.from(JSON.stringify({ a: 'agent-1', s: 'agent', t: [], e: NOW + 1e9 })).toString('base64url')}.${mac}`, KEY, { agentId: 'agent-1', nowMs: NOW }, /altered/],
    ['first MAC character flipped', `${version}.${payload}.${flip(mac, 0)}`, KEY, { agentId: 'agent-1', nowMs: NOW }, /altered/],
    ['last full MAC character flipped', `${version}.${payload}.${flip(mac, -2)}`, KEY, { agentId: 'agent-1', nowMs: NOW }, /altered/],
    ['payload character flipped', `${version}.${flip(payload, 5)}.${mac}`, KEY, { agentId: 'agent-1', nowMs: NOW }, /altered/],
    ['MAC cut short', `${version}.${payload}.${mac.slice(0, 20)}`, KEY, { agentId: 'agent-1', nowMs: NOW }, /altered/],
    ['MAC padded', `${version}.${payload}.${mac}=`, KEY, { agentId: 'agent-1', nowMs: NOW }, /not base64url/],
    ['payload in plain base64', `${version}.${payload.replaceAll('-', '+')}+.${mac}`, KEY, { agentId: 'agent-1', nowMs: NOW }, /not base64url/],
    ['non-canonical base64url (stray bits)', `${version}.${payload}.${mac.slice(0, -1)}${mac.endsWith('B') ? 'C' : 'B'}`, KEY, { agentId: 'agent-1', nowMs: NOW }, /not base64url|altered/],
    ['empty', '', KEY, { agentId: 'agent-1', nowMs: NOW }, /not an agent token/],
    ['two parts', `${version}.${payload}`, KEY, { agentId: 'agent-1', nowMs: NOW }, /not an agent token/],
    ['four parts', `${good}.x`, KEY, { agentId: 'agent-1', nowMs: NOW }, /not an agent token/],
    ['other version', `cat2.${payload}.${mac}`, KEY, { agentId: 'agent-1', nowMs: NOW }, /not an agent token/],
    ['a scheduler token', `3f0c.${SECRET}`, KEY, { agentId: 'agent-1', nowMs: NOW }, /not an agent token/],
    ['over-long', `${version}.${'A'.repeat(MAX_AGENT_TOKEN_LENGTH)}.${mac}`, KEY, { agentId: 'agent-1', nowMs: NOW }, /longer than 4096/],
  ];
  for (const [name, token, key, expect, outcome] of cases) {
    await t.test(name, () => {
      const checked = verifyAgentToken(token, key, expect);
      if (outcome instanceof RegExp) {
        assert.equal(checked.ok, false);
        if (!checked.ok) {
          assert.match(checked.reason, outcome);
          assert.ok(!checked.reason.includes(mac), 'a reason never quotes the token');
        }
      } else assert.deepEqual(checked, { ok: true, claims: outcome });
    });
  }
});

test('verifyAgentToken refuses well-signed tokens whose claims are malformed', async (t) => {
  const cases: Array<[name: string, body: string]> = [
    ['not JSON', 'not json'],
    ['an array', '[]'],
    ['no agent', JSON.stringify({ s: 'files', t: [], e: NOW + 1 })],
    ['unknown scope', JSON.stringify({ a: 'agent-1', s: 'root', t: [], e: NOW + 1 })],
    ['task ids not strings', JSON.stringify({ a: 'agent-1', s: 'files', t: [1], e: NOW + 1 })],
    ['expiry not a number', JSON.stringify({ a: 'agent-1', s: 'files', t: [], e: 'never' })],
  ];
  for (const [name, body] of cases) {
    await t.test(name, () => {
      const signed = `cat1.${Buffer.from(body).toString('base64url')}`;
      const token = `${signed}.${macFor(signed)}`;
      const checked = verifyAgentToken(token, KEY, { agentId: 'agent-1', nowMs: NOW });
      assert.deepEqual(checked, { ok: false, reason: 'the token carries no valid claims' });
    });
  }
});

test('permits: a files token covers its tasks only, a metrics token metrics and state only, an agent token everything', async (t) => {
  const agentWide: AgentTokenClaims = { ...claims, scope: 'agent', taskIds: [] };
  const metricsOnly: AgentTokenClaims = { ...claims, scope: 'metrics', taskIds: [] };
  const cases: Array<[name: string, token: AgentTokenClaims, need: AgentTokenNeed, ok: boolean | RegExp]> = [
    ['its task', claims, { kind: 'task', taskId: 'team-a_web.1' }, true],
    ['another task on the same agent', claims, { kind: 'task', taskId: 'team-b_db.2' }, /does not cover the sandbox of task team-b_db.2/],
    ['a prefix of its task id', claims, { kind: 'task', taskId: 'team-a_web' }, /does not cover/],
    ['the sandbox root', claims, { kind: 'agent' }, /scope agent/],
    ['metrics', claims, { kind: 'metrics' }, /scope metrics or agent/],
    ['metrics token, metrics', metricsOnly, { kind: 'metrics' }, true],
    ['metrics token, a task', { ...metricsOnly, taskIds: ['team-a_web.1'] }, { kind: 'task', taskId: 'team-a_web.1' }, /scope metrics reads no sandbox/],
    ['metrics token, the sandbox root', metricsOnly, { kind: 'agent' }, /scope agent/],
    ['agent token, any task', agentWide, { kind: 'task', taskId: 'team-b_db.2' }, true],
    ['agent token, the sandbox root', agentWide, { kind: 'agent' }, true],
    ['agent token, metrics', agentWide, { kind: 'metrics' }, true],
    ['state', claims, { kind: 'state' }, /scope metrics or agent/],
    ['metrics token, state', metricsOnly, { kind: 'state' }, true],
    ['agent token, state', agentWide, { kind: 'state' }, true],
  ];
  for (const [name, token, need, ok] of cases) {
    await t.test(name, () => {
      const decision = permits(token, need);
      if (ok === true) assert.deepEqual(decision, { ok: true });
      else {
        assert.equal(decision.ok, false);
        if (!decision.ok && ok instanceof RegExp) assert.match(decision.reason, ok);
      }
    });
  }
});

test('bearerToken reads a bounded Bearer header', async (t) => {
  const cases: Array<[name: string, header: string | undefined, outcome: string | RegExp]> = [
    ['Bearer', `Bearer ${good}`, good],
    ['any case, spaces', `  bearer   ${good} `, good],
    ['none', undefined, /no Authorization header/],
    ['blank', '  ', /no Authorization header/],
    ['Basic', 'Basic dTpw', /not `Bearer <token>`/],
    ['two words', 'Bearer a b', /not `Bearer <token>`/],
    ['over-long', `Bearer ${'a'.repeat(MAX_AGENT_TOKEN_LENGTH + 100)}`, /too long/],
  ];
  for (const [name, header, outcome] of cases) {
    await t.test(name, () => {
      const read = bearerToken(header);
      if (typeof outcome === 'string') assert.deepEqual(read, { ok: true, token: outcome });
      else {
        assert.equal(read.ok, false);
        if (!read.ok) assert.match(read.reason, outcome);
      }
    });
  }
});

test('isScrapeToken: the --metrics-token-file token, compared by hash, nothing else', async (t) => {
  const scrape = 'Qm9vdHN0cmFwcGVkLXNjcmFwZS10b2tlbi0xMjM0NTY';
  const cases: Array<[name: string, presented: string, hash: string | undefined, ok: boolean]> = [
    ['the token', scrape, hashSecret(scrape), true],
    ['another token', `${scrape}x`, hashSecret(scrape), false],
    ['a prefix of it', scrape.slice(0, 20), hashSecret(scrape), false],
    ['empty', '', hashSecret(scrape), false],
    ['no scrape token configured', scrape, undefined, false],
  ];
  for (const [name, presented, hash, ok] of cases) await t.test(name, () => assert.equal(isScrapeToken(presented, hash), ok));
});
