import type { DiscoveryTask } from '../../events/types.ts';
import type { ClusterView } from '../../events/core/view.ts';

/** What changed between the view the index last saw and the new one. */
export interface ViewChanges {
  /** Apps whose definition or tasks changed (added, removed or replaced objects). */
  readonly apps: ReadonlySet<string>;
  /** A host gained its first task or lost its last one (the agents behind `slave.D`). */
  readonly hostsChanged: boolean;
}

/** Task and app ids changed since the view the index last saw (gathered from `ClusterView.changed`). */
export interface ChangeHint {
  readonly taskIds: ReadonlySet<string>;
  readonly appIds: ReadonlySet<string>;
}

/**
 * Tasks by app and hosts by task count, kept in step with successive views by comparing object
 * identity (views are immutable; `applyEvent` replaces only what an event touches). A change
 * costs one pass of reference comparisons over the tasks, no regrouping and no allocation per
 * unchanged task — or, given a hint of what changed, a look at those ids only.
 */
export class TaskIndex {
  #view: ClusterView | undefined;
  readonly #byApp = new Map<string, Map<string, DiscoveryTask>>();
  readonly #hosts = new Map<string, number>();

  /** The tasks of an app in the order they arrived (a replaced task moves to the end). */
  tasksOf(appId: string): Iterable<DiscoveryTask> {
    return this.#byApp.get(appId)?.values() ?? [];
  }

  get hosts(): Iterable<string> {
    return this.#hosts.keys();
  }

  sync(view: ClusterView, hint?: ChangeHint): ViewChanges {
    const previous = this.#view;
    this.#view = view;
    const apps = new Set<string>();
    let hostsChanged = false;
    const add = (task: DiscoveryTask): void => {
      let tasks = this.#byApp.get(task.appId);
      if (tasks === undefined) {
        tasks = new Map();
        this.#byApp.set(task.appId, tasks);
      }
      tasks.set(task.id, task);
      const count = this.#hosts.get(task.host) ?? 0;
      if (count === 0) hostsChanged = true;
      this.#hosts.set(task.host, count + 1);
      apps.add(task.appId);
    };
    const remove = (task: DiscoveryTask): void => {
      const tasks = this.#byApp.get(task.appId);
      tasks?.delete(task.id);
      if (tasks?.size === 0) this.#byApp.delete(task.appId);
      const count = (this.#hosts.get(task.host) ?? 1) - 1;
      if (count === 0) {
        this.#hosts.delete(task.host);
        hostsChanged = true;
      } else {
        this.#hosts.set(task.host, count);
      }
      apps.add(task.appId);
    };

    if (previous === undefined) {
      for (const task of view.tasks.values()) add(task);
      for (const appId of view.apps.keys()) apps.add(appId);
      return { apps, hostsChanged: true };
    }
    if (hint !== undefined) {
      for (const id of hint.taskIds) {
        const old = previous.tasks.get(id);
        const task = view.tasks.get(id);
        if (old === task) continue;
        if (old !== undefined) remove(old);
        if (task !== undefined) add(task);
      }
      for (const id of hint.appIds) apps.add(id);
      return { apps, hostsChanged };
    }
    if (view.tasks !== previous.tasks) {
      let kept = 0;
      for (const task of view.tasks.values()) {
        const old = previous.tasks.get(task.id);
        if (old !== undefined) kept += 1;
        if (old === task) continue;
        if (old !== undefined) remove(old);
        add(task);
      }
      // Only when some old task is missing from the new view is it worth looking for which.
      if (kept < previous.tasks.size) {
        for (const old of previous.tasks.values()) if (!view.tasks.has(old.id)) remove(old);
      }
    }
    if (view.apps !== previous.apps) {
      for (const [id, app] of view.apps) if (previous.apps.get(id) !== app) apps.add(id);
      for (const id of previous.apps.keys()) if (!view.apps.has(id)) apps.add(id);
    }
    return { apps, hostsChanged };
  }
}
