import type { ClusterState, Collection, StateOp } from '../types.ts';

export function emptyState(): ClusterState {
  return { apps: new Map(), appVersions: new Map(), taskFailures: new Map(), instances: new Map(), agents: new Map(), deployments: new Map(), meta: new Map() };
}

/**
 * Applies ops to a state and returns the new state. Only the touched collections are copied,
 * so a snapshot handed to a pure core earlier stays valid.
 */
export function applyOps(state: ClusterState, ops: readonly StateOp[]): ClusterState {
  const copies = new Map<Collection, Map<string, unknown>>();
  for (const op of ops) {
    let coll = copies.get(op.coll);
    if (coll === undefined) {
      coll = new Map(state[op.coll] as ReadonlyMap<string, unknown>);
      copies.set(op.coll, coll);
    }
    if (op.op === 'put') coll.set(op.key, op.value);
    else coll.delete(op.key);
  }
  return { ...state, ...Object.fromEntries(copies) } as ClusterState;
}

/**
 * A working copy of a state for a transaction that applies many small changes in turn: each
 * collection is copied once, on its first change, instead of once per change.
 */
export class StateDraft {
  #state: ClusterState;
  readonly #copied = new Set<Collection>();

  constructor(state: ClusterState) {
    this.#state = state;
  }

  get state(): ClusterState {
    return this.#state;
  }

  apply(ops: readonly StateOp[]): void {
    for (const op of ops) {
      if (!this.#copied.has(op.coll)) {
        this.#state = { ...this.#state, [op.coll]: new Map(this.#state[op.coll] as ReadonlyMap<string, unknown>) };
        this.#copied.add(op.coll);
      }
      const coll = this.#state[op.coll] as Map<string, unknown>;
      if (op.op === 'put') coll.set(op.key, op.value);
      else coll.delete(op.key);
    }
  }
}

export function stateToJson(state: ClusterState): Record<Collection, Array<[string, unknown]>> {
  return {
    apps: [...state.apps],
    appVersions: [...state.appVersions],
    taskFailures: [...state.taskFailures],
    instances: [...state.instances],
    agents: [...state.agents],
    deployments: [...state.deployments],
    meta: [...state.meta],
  };
}

export function stateFromJson(json: Record<Collection, Array<[string, unknown]>>): ClusterState {
  return {
    apps: new Map(json.apps),
    // Collections added later are absent from older snapshots.
    appVersions: new Map(json.appVersions ?? []),
    taskFailures: new Map(json.taskFailures ?? []),
    instances: new Map(json.instances),
    agents: new Map(json.agents),
    deployments: new Map(json.deployments),
    meta: new Map(json.meta),
  } as ClusterState;
}
