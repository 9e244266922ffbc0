/**
 * Which scheduler a follower (DNS, LB, agent, CLI) talks to, given `--master`'s list and what the
 * schedulers said of the leader. Every answer of a scheduler, leader's or standby's, names the
 * leader in `X-Marathon-Leader`; going there directly spares the standby's proxy hop.
 */

export const LEADER_HEADER = 'x-marathon-leader';

/** The origin an `X-Marathon-Leader` value names, or undefined when it names none. */
export function leaderFromHeader(value: string | readonly string[] | undefined): string | undefined {
  const first = typeof value === 'string' ? value : value?.[0];
  if (first === undefined || first.trim() === '') return undefined;
  return originOf(first.trim());
}

/**
 * Where to go after `failed` stopped answering: the leader the schedulers last named, unless that
 * is the one that just failed (a killed leader stays named until a new one is elected); else the
 * master after `failed` in the list (the first when `failed` is not in it).
 */
export function nextMaster(masters: readonly string[], failed: string, namedLeader: string | undefined): string {
  const failedOrigin = originOf(failed);
  if (namedLeader !== undefined && originOf(namedLeader) !== failedOrigin) return namedLeader;
  if (masters.length === 0) return failed;
  const index = masters.findIndex((master) => originOf(master) === failedOrigin);
  return masters[(index + 1) % masters.length] ?? failed;
}

/**
 * Whether a follower connected to `current` should move to `namedLeader`: only when a leader is
 * named and it is another server (a standby answered and proxies).
 */
export function shouldMoveToLeader(current: string, namedLeader: string | undefined): namedLeader is string {
  return namedLeader !== undefined && originOf(namedLeader) !== originOf(current);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/**
 * A standby's 503 while the schedulers elect a leader (none known, or the one named does not
 * accept connections): the request reached no leader, so it may be sent again once there is one.
 */
export function awaitsLeader(status: number, message: string): boolean {
  return status === 503 && /no leader is known|the leader \S+ cannot be reached/.test(message);
}
