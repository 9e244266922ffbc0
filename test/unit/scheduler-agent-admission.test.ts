import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashSecret, parseAuthorization } from '../../src/auth/core/tokens.ts';
import { admitRegistration, checkAgentCredential, type RegistrationAdmission } from '../../src/scheduler/core/agent-admission.ts';
import { registerAgent, revokeCredential, setDraining } from '../../src/scheduler/core/agent-status.ts';
import { applyOps } from '../../src/scheduler/core/state-ops.ts';
import type { AgentCredential, AgentRecord } from '../../src/scheduler/types.ts';
import { NOW, agent, state } from '../support/scheduler-fixtures.ts';

const JOIN = 'join-token-0123456789abcdef';
const SECRET = 'S'.repeat(43);
const CRED_ID = '11111111-2222-3333-4444-555555555555';
const credential: AgentCredential = { id: CRED_ID, hash: hashSecret(SECRET), issuedAt: NOW };
const withCredential: AgentRecord = { ...agent('a'), credential };
const revoked: AgentRecord = { ...agent('a'), credential: { ...credential, revokedAt: NOW } };
const bearer = (token: string): string => `Bearer ${token}`;
const good = bearer(`${CRED_ID}.${SECRET}`);

test('admitRegistration: the join token admits an id without a credential; an id with one takes that credential only', async (t) => {
  const cases: Array<[name: string, known: AgentRecord | undefined, header: string | undefined, expected: RegistrationAdmission | RegExp]> = [
    ['new agent, join token', undefined, bearer(JOIN), { admitted: true, issue: true }],
    ['new agent, no header', undefined, undefined, /no Bearer join token/],
    ['new agent, wrong token', undefined, bearer('join-token-0123456789abcdeX'), /not the join token/],
    ['new agent, Basic', undefined, `Basic ${Buffer.from(`u:${JOIN}`).toString('base64')}`, /no Bearer join token/],
    ['new agent, a credential is not the join token', undefined, good, /not the join token/],
    ['known, without a credential yet (before admission): join token', agent('a'), bearer(JOIN), { admitted: true, issue: true }],
    ['known, its credential', withCredential, good, { admitted: true, issue: false }],
    ['known, the join token alone cannot take it over', withCredential, bearer(JOIN), /not the credential of agent a/],
    ['known, no header', withCredential, undefined, /no Bearer credential/],
    ['known, right secret under another id', withCredential, bearer(`99999999-2222-3333-4444-555555555555.${SECRET}`), /not the credential/],
    ['known, wrong secret', withCredential, bearer(`${CRED_ID}.${'T'.repeat(43)}`), /not the credential/],
    ['revoked: its credential', revoked, good, /was revoked/],
    ['revoked: the join token', revoked, bearer(JOIN), /not the credential/],
  ];
  for (const [name, known, header, expected] of cases) {
    await t.test(name, () => {
      const admission = admitRegistration(known, parseAuthorization(header), hashSecret(JOIN));
      if (expected instanceof RegExp) {
        assert.equal(admission.admitted, false);
        assert.match(admission.admitted ? '' : admission.reason, expected);
        assert.ok(!(admission.admitted ? '' : admission.reason).includes(SECRET), 'a reason never quotes a secret');
      } else {
        assert.deepEqual(admission, expected);
      }
    });
  }
});

test('checkAgentCredential: an agent without a credential is refused (it must join first)', () => {
  assert.deepEqual(checkAgentCredential(withCredential, parseAuthorization(good)), { ok: true });
  const refused = checkAgentCredential(agent('a'), parseAuthorization(good));
  assert.equal(refused.ok, false);
  assert.match(refused.ok ? '' : refused.reason, /has no credential/);
});

test('the credential stays on the agent record through re-registration and drains; revocation marks it once', () => {
  const registration = { hostname: 'a', ip: '10.0.0.1', endpoint: '', resources: [], attributes: {}, tasks: [] };
  const joined = applyOps(state({}), registerAgent(state({}), 'a', registration, NOW, credential).ops);
  assert.deepEqual(joined.agents.get('a')?.credential, credential);
  const again = applyOps(joined, registerAgent(joined, 'a', registration, NOW).ops);
  assert.deepEqual(again.agents.get('a')?.credential, credential, 'a re-registration keeps it');
  const drained = applyOps(again, setDraining(again, 'a', true)?.ops ?? []);
  assert.deepEqual(drained.agents.get('a')?.credential, credential);

  const later = '2026-01-02T00:00:00.000Z';
  const out = applyOps(drained, revokeCredential(drained, 'a', later)?.ops ?? []);
  assert.deepEqual(out.agents.get('a')?.credential, { ...credential, revokedAt: later });
  assert.deepEqual(revokeCredential(out, 'a', '2026-01-03T00:00:00.000Z')?.ops, [], 'revoking twice keeps the first time');
  assert.equal(revokeCredential(out, 'nobody', later), undefined);
  // An agent from before admission: revoked with an empty credential, which nothing matches.
  const old = state({ agents: [agent('b')] });
  const closed = applyOps(old, revokeCredential(old, 'b', later)?.ops ?? []).agents.get('b');
  assert.deepEqual(closed?.credential, { id: '', hash: '', issuedAt: later, revokedAt: later });
  assert.equal(admitRegistration(closed, parseAuthorization(bearer(JOIN)), hashSecret(JOIN)).admitted, false);
});
