import type { TaskState } from '../../events/types.ts';
import type { AppDefinition, ClusterState, Collection, Instance, StateOp, ValueOf } from '../types.ts';
import { LayeredMap, type GroupsOf, type TallyOf } from '../../shared/layered-map.ts';
import type { InstanceIndex } from './placement.ts';

export function emptyState(): ClusterState {
  return { apps: new Map(), appVersions: new Map(), groupVersions: new Map(), taskFailures: new Map(), instances: new Map(), agents: new Map(), deployments: new Map(), meta: new Map(), identities: new Map(), grants: new Map(), tokens: new Map(), quotas: new Map(), eventSubscriptions: new Map(), jobs: new Map(), jobRuns: new Map(), jobHistory: new Map(), jobTicks: new Map() };
}

/**
 * Instances are also kept by app (a job run's task by job) and by agent, so that none needs a
 * scan of all of them; app versions by app.
 */
const GROUPS: { [C in Collection]?: GroupsOf<ValueOf<C>> } = {
  instances: (instance) => [instance.run === undefined ? `app:${instance.appId}` : `job:${instance.run.jobId}`, `agent:${instance.agentId}`],
  appVersions: (app) => [`app:${app.id}`],
};

/**
 * What an instance counts as within its app, so that an app's counts need no walk over its
 * instances: every instance (`all`) and by state; those meant to run, by state and by the
 * configuration they were launched from (`config:<lastConfigChangeAt>`).
 */
export type InstanceTally = 'all' | `state:${TaskState}` | 'goal:running' | `goal:running:${TaskState}` | `config:${string}` | `config:${string}:${TaskState}`;

const NO_TALLIES: readonly string[] = [];

/** Kept for the app groups only: nothing asks for counts per agent. */
const instanceTallies: TallyOf<Instance> = (i, group) => {
  if (!group.startsWith('app:')) return NO_TALLIES;
  const names: InstanceTally[] = ['all', `state:${i.state}`];
  if (i.goal === 'running') names.push('goal:running', `goal:running:${i.state}`, `config:${i.configVersion}`, `config:${i.configVersion}:${i.state}`);
  return names;
};

const TALLIES: { [C in Collection]?: TallyOf<ValueOf<C>> } = { instances: instanceTallies };

function layered<C extends Collection>(coll: C, map: ClusterState[C]): LayeredMap<ValueOf<C>> {
  if (map instanceof LayeredMap) return map as LayeredMap<ValueOf<C>>;
  // A plain map (a test's fixture, a loaded snapshot) becomes the base of its first draft, unchanged.
  return LayeredMap.over(map as Map<string, ValueOf<C>>, GROUPS[coll] as GroupsOf<ValueOf<C>> | undefined, TALLIES[coll] as TallyOf<ValueOf<C>> | undefined);
}

/**
 * Applies ops to a state and returns the new state. Only the touched collections are copied,
 * and of those only their uncommitted changes, so a snapshot handed to a pure core earlier
 * stays valid.
 */
export function applyOps(state: ClusterState, ops: readonly StateOp[]): ClusterState {
  const draft = new StateDraft(state, 'scratch');
  draft.apply(ops);
  return draft.state;
}

/**
 * A working copy of a state that applies many small changes in turn: each collection is
 * copied once, on its first change, and then written in place. A `commit` draft (the state
 * writer's) copies the uncommitted changes of what it starts from so that it can be committed;
 * a `scratch` draft (a transaction's own) layers over them in constant time.
 */
export class StateDraft {
  #state: ClusterState;
  readonly #kind: 'commit' | 'scratch';
  readonly #forks = new Map<Collection, LayeredMap<unknown>>();

  constructor(state: ClusterState, kind: 'commit' | 'scratch') {
    this.#state = state;
    this.#kind = kind;
  }

  get state(): ClusterState {
    return this.#state;
  }

  apply(ops: readonly StateOp[]): void {
    for (const op of ops) {
      let coll = this.#forks.get(op.coll);
      if (coll === undefined) {
        const from = layered(op.coll, this.#state[op.coll]);
        coll = (this.#kind === 'commit' ? from.fork() : from.child()) as LayeredMap<unknown>;
        this.#forks.set(op.coll, coll);
        this.#state = { ...this.#state, [op.coll]: coll };
      }
      if (op.op === 'put') coll.put(op.key, op.value);
      else if (op.op === 'del') coll.remove(op.key);
      else {
        const stored = coll.get(op.key);
        if (stored !== undefined) coll.put(op.key, { ...stored, ...op.value });
      }
    }
  }
}

/**
 * The op that turns `before` into `after` (two versions of one instance): only the fields that
 * changed, unless one was removed or set to undefined (a patch, as JSON, cannot say so).
 */
export function instanceOp(before: Instance, after: Instance): StateOp {
  const put: StateOp = { op: 'put', coll: 'instances', key: after.taskId, value: after };
  const changed: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(after)) {
    if (before[field as keyof Instance] === value) continue;
    if (value === undefined) return put;
    changed[field] = value;
  }
  for (const field of Object.keys(before)) if (!(field in after)) return put;
  return { op: 'patch', coll: 'instances', key: after.taskId, value: changed as Partial<Instance> };
}

/** What one commit changed, for those who react to commits without rescanning the state. */
export interface CommitChanges {
  /** Keys written or deleted, by collection (collections left alone are absent). */
  keys: ReadonlyMap<Collection, ReadonlySet<string>>;
  /** Apps whose instances changed. */
  instanceApps: ReadonlySet<string>;
}

/** Makes a draft's changes the committed state (the state writer's step, see LayeredMap). */
export function commitState(draft: ClusterState): { state: ClusterState; changes: CommitChanges } {
  const state = { ...draft } as Record<Collection, unknown>;
  const keys = new Map<Collection, ReadonlySet<string>>();
  const instanceApps = new Set<string>();
  for (const coll of Object.keys(draft) as Collection[]) {
    const map = layered(coll, draft[coll]);
    if (map.uncommitted === 0) {
      state[coll] = map;
      continue;
    }
    const { map: committed, folded } = map.commit();
    state[coll] = committed;
    keys.set(coll, folded.keys);
    if (coll === 'instances') for (const group of folded.groups) if (group.startsWith('app:')) instanceApps.add(group.slice(4));
  }
  return { state: state as unknown as ClusterState, changes: { keys, instanceApps } };
}

/** The instances of one app, without a scan of all instances. */
export function instancesOfApp(state: ClusterState, appId: string): Instance[] {
  return layered('instances', state.instances).group(`app:${appId}`);
}

/** The stored versions of one app, without a scan of every app's versions. */
export function appVersionsOf(state: ClusterState, appId: string): AppDefinition[] {
  return layered('appVersions', state.appVersions).group(`app:${appId}`);
}

/** The tasks of one job's runs (ended ones included, until their run took note). */
export function instancesOfJob(state: ClusterState, jobId: string): Instance[] {
  return layered('instances', state.instances).group(`job:${jobId}`);
}

/** How many instances of one app count as `name`, without walking them. */
export function countInstances(state: ClusterState, appId: string, name: InstanceTally): number {
  return layered('instances', state.instances).count(`app:${appId}`, name);
}

/** Instances by app and by agent, for placement. */
export function instanceIndex(state: ClusterState): InstanceIndex {
  return { ofApp: (appId) => instancesOfApp(state, appId), onAgent: (agentId) => instancesOnAgent(state, agentId) };
}

/** The instances on one agent, without a scan of all instances. */
export function instancesOnAgent(state: ClusterState, agentId: string): Instance[] {
  return layered('instances', state.instances).group(`agent:${agentId}`);
}

export function stateToJson(state: ClusterState): Record<Collection, Array<[string, unknown]>> {
  return {
    apps: [...state.apps],
    appVersions: [...state.appVersions],
    groupVersions: [...state.groupVersions],
    taskFailures: [...state.taskFailures],
    instances: [...state.instances],
    agents: [...state.agents],
    deployments: [...state.deployments],
    meta: [...state.meta],
    identities: [...state.identities],
    grants: [...state.grants],
    tokens: [...state.tokens],
    quotas: [...state.quotas],
    eventSubscriptions: [...state.eventSubscriptions],
    jobs: [...state.jobs],
    jobRuns: [...state.jobRuns],
    jobHistory: [...state.jobHistory],
    jobTicks: [...state.jobTicks],
  };
}

export function stateFromJson(json: Record<Collection, Array<[string, unknown]>>): ClusterState {
  return {
    apps: new Map(json.apps),
    // Collections added later are absent from older snapshots.
    appVersions: new Map(json.appVersions ?? []),
    groupVersions: new Map(json.groupVersions ?? []),
    taskFailures: new Map(json.taskFailures ?? []),
    instances: new Map(json.instances),
    agents: new Map(json.agents),
    deployments: new Map(json.deployments),
    meta: new Map(json.meta),
    identities: new Map(json.identities ?? []),
    grants: new Map(json.grants ?? []),
    tokens: new Map(json.tokens ?? []),
    quotas: new Map(json.quotas ?? []),
    eventSubscriptions: new Map(json.eventSubscriptions ?? []),
    jobs: new Map(json.jobs ?? []),
    jobRuns: new Map(json.jobRuns ?? []),
    jobHistory: new Map(json.jobHistory ?? []),
    jobTicks: new Map(json.jobTicks ?? []),
  } as ClusterState;
}
