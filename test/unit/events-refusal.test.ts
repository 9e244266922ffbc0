import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refusalHint } from '../../src/events/core/refusal.ts';

test('refusalHint: what a follower logs when the scheduler refuses it', () => {
  const cases: Array<[name: string, status: number, hasToken: boolean, expected: RegExp, not?: RegExp]> = [
    ['401 without a token: give one', 401, false, /requires authentication: give a read-only token with --token-file/],
    ['401 with a token: it is not accepted', 401, true, /does not accept the token \(revoked, expired or unknown\)/],
    // The snapshot and the stream answer any identity (a team's token gets its own apps): a 403 is a route refused.
    ['403: the route refused, not a missing read grant', 403, true, /refuses the discovery snapshot or event stream to the token's identity/, /needs a grant of read on \/$/],
    ['403 says a partial view is what a lesser token gets', 403, true, /only the apps it may read/],
  ];
  for (const [name, status, hasToken, expected, not] of cases) {
    const hint = refusalHint(status, hasToken);
    assert.match(hint, expected, name);
    if (not !== undefined) assert.doesNotMatch(hint, not, name);
  }
});
