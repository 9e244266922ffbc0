import type { DeploymentPlan, EventType, StreamEvent } from '../../events/types.ts';
import { jobPath } from './paths.ts';

/**
 * What an event on `/v2/events` concerns, for filtering the stream per subscriber (`--auth`):
 * - `paths`: app (or group) paths; a subscriber receives the event if it may read ANY of them.
 *   A deployment names all the apps of its plan: as in DC/OS, whoever may read one of them
 *   follows the deployment (and so learns the ids of the plan's other apps).
 * - `cluster`: no app (subscribers coming and going, a group change of `/`): `read` on `/` only.
 * - `addressee`: written to one subscriber about its own stream (`resync_required`), never filtered.
 * - `everyone`: what every authenticated caller sees elsewhere anyway (the agents: the discovery
 *   snapshot and `/master/state` list them to every team), so a team's follower stays current.
 */
export type EventScope = { paths: readonly string[] } | 'cluster' | 'addressee' | 'everyone';

type ScopeOf<T extends EventType> = (event: Extract<StreamEvent, { eventType: T }>) => EventScope;

const app = (id: string): EventScope => ({ paths: [id] });

function planApps(plan: DeploymentPlan): EventScope {
  const apps = [...new Set(plan.steps.flatMap((step) => step.actions.map((action) => action.app)))];
  // A plan without apps tells nothing of any team: only cluster readers see it.
  return apps.length === 0 ? 'cluster' : { paths: apps };
}

/** One rule per event type: typed as a full record, so a new event type does not compile without one. */
export const EVENT_SCOPES: { readonly [T in EventType]: ScopeOf<T> } = {
  api_post_event: (e) => app(e.appDefinition.id),
  status_update_event: (e) => app(e.appId),
  app_terminated_event: (e) => app(e.appId),
  health_status_changed_event: (e) => app(e.appId),
  failed_health_check_event: (e) => app(e.appId),
  unhealthy_instance_kill_event: (e) => app(e.appId),
  add_health_check_event: (e) => app(e.appId),
  remove_health_check_event: (e) => app(e.appId),
  instance_health_changed_event: (e) => app(e.runSpecId),
  instance_changed_event: (e) => app(e.runSpecId),
  deployment_info: (e) => planApps(e.plan),
  deployment_step_success: (e) => planApps(e.plan),
  deployment_step_failure: (e) => planApps(e.plan),
  deployment_success: (e) => planApps(e.plan),
  deployment_failed: (e) => planApps(e.plan),
  // A group path: readable by a grant on it or above it, as the group itself is (`/` by cluster readers).
  group_change_success: (e) => app(e.groupId),
  group_change_failed: (e) => app(e.groupId),
  // Other subscribers' addresses are the cluster's business.
  event_stream_attached: () => 'cluster',
  event_stream_detached: () => 'cluster',
  subscribe_event: () => 'cluster',
  unsubscribe_event: () => 'cluster',
  resync_required: () => 'addressee',
  // As the snapshot a follower starts from: it lists the agents to every reader.
  agent_added_event: () => 'everyone',
  agent_removed_event: () => 'everyone',
  // A job is read by its path, as an app: `team.nightly` by whoever may read /team/nightly.
  job_created: (e) => app(jobPath(e.job.id)),
  job_updated: (e) => app(jobPath(e.job.id)),
  job_deleted: (e) => app(jobPath(e.job.id)),
  job_run_started: (e) => app(jobPath(e.jobRun.jobId)),
  job_run_finished: (e) => app(jobPath(e.jobRun.jobId)),
  job_run_failed: (e) => app(jobPath(e.jobRun.jobId)),
};

export function eventScope(event: StreamEvent): EventScope {
  // The record maps each type to its own event shape; TypeScript cannot follow the correlation through a union.
  return (EVENT_SCOPES[event.eventType] as (e: StreamEvent) => EventScope)(event);
}

/**
 * May a subscriber receive `event`? `mayRead(path)` is its `read` decision (admin reads
 * everything); `cluster` events need `read` on `/`.
 */
export function eventVisible(event: StreamEvent, mayRead: (path: string) => boolean): boolean {
  const scope = eventScope(event);
  if (scope === 'addressee' || scope === 'everyone') return true;
  if (scope === 'cluster') return mayRead('/');
  return scope.paths.some(mayRead);
}
