import { formatAge, stateLabel } from './format.ts';
import type { App, QueueEntry, TaskFailure } from './marathon.ts';

/** One reason agents refused the app's next instance, in words, with how many of how many. */
export interface RefusalRow {
  kind: 'constraint' | 'resources' | 'agent';
  /** `Constraint hostname:UNIQUE`, `Not enough mem`, `Agent draining`. */
  what: string;
  agents: number;
  of: number;
}

export interface DebugView {
  waiting?: { count: number; reason: string; since?: string; refusals: RefusalRow[] };
  delay: { inForce: boolean; text: string };
  failure?: { headline: string; message: string; task: string; version: string; when: string };
}

const DELAY_POLICY = (app: App): string => {
  const base = typeof app.backoffSeconds === 'number' ? app.backoffSeconds : 1;
  const factor = typeof app.backoffFactor === 'number' ? app.backoffFactor : 1.15;
  const max = typeof app.maxLaunchDelaySeconds === 'number' ? app.maxLaunchDelaySeconds : 300;
  return `each failure multiplies the delay by ${factor} from ${base}s, up to ${max}s`;
};

function refusalRow(refusal: { reason: string; agents: number; constraint?: string[] }, of: number): RefusalRow {
  if (refusal.constraint !== undefined) return { kind: 'constraint', what: `Constraint ${refusal.constraint.join(':')}`, agents: refusal.agents, of };
  const insufficient = /^insufficient (\w+)$/.exec(refusal.reason);
  if (insufficient !== null) return { kind: 'resources', what: `Not enough ${insufficient[1]}`, agents: refusal.agents, of };
  return { kind: 'agent', what: refusal.reason.charAt(0).toUpperCase() + refusal.reason.slice(1), agents: refusal.agents, of };
}

/** The Debug tab in words: what waits and why (per constraint), the launch delay, the last failure. */
export function debugView(app: App, queued: QueueEntry | undefined, failure: TaskFailure | undefined, nowMs: number): DebugView {
  const of = queued?.processedOffersSummary?.processedOffersCount ?? 0;
  const waiting = queued === undefined || queued.count === 0 ? undefined : {
    count: queued.count,
    reason: queued.reason !== undefined && queued.reason !== '' ? queued.reason : 'not placed yet',
    ...(queued.since === undefined ? {} : { since: `${formatAge(queued.since, nowMs)} ago` }),
    refusals: (queued.refusals ?? []).map((r) => refusalRow(r, of)),
  };
  const inForce = queued !== undefined && !queued.delay.overdue;
  const delay = {
    inForce,
    text: inForce ? `${queued.delay.timeLeftSeconds}s left before the next launch (${DELAY_POLICY(app)}).` : `None: instances launch as soon as an agent fits (${DELAY_POLICY(app)}).`,
  };
  return {
    ...(waiting === undefined ? {} : { waiting }),
    delay,
    ...(failure === undefined ? {} : {
      failure: {
        headline: `${stateLabel(failure.state)} ${formatAge(failure.timestamp, nowMs)} ago on ${failure.host}`,
        message: failure.message === '' ? '(no message)' : failure.message,
        task: failure.taskId,
        version: failure.version === app.version ? `${failure.version} (the current version)` : `${failure.version} (an older version)`,
        when: failure.timestamp,
      },
    }),
  };
}
