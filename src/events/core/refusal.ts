/**
 * Why the scheduler refused a follower (DNS, LB), for its one error line per run of refusals.
 * The discovery snapshot and the event stream answer any authenticated identity, trimmed to
 * what it may read (src/auth/core/listings.ts): a 403 is not a missing grant of read but a
 * scheduler that refuses the route itself.
 */
export function refusalHint(status: number, hasToken: boolean): string {
  if (status === 401) {
    return hasToken ? 'the scheduler does not accept the token (revoked, expired or unknown)' : 'the scheduler requires authentication: give a read-only token with --token-file';
  }
  return 'the scheduler refuses the discovery snapshot or event stream to the token\'s identity, whatever it may read (a Corral scheduler answers any identity, with only the apps it may read: is --master another server, or is a proxy in between?)';
}
