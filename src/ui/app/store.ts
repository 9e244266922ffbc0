import { useEffect, useState } from 'preact/hooks';
import { EMPTY_VIEW, foldEvent, viewOf, type ClusterView, type Refresh, type StreamEvent } from '../core/cluster.ts';
import { mergeReadiness } from '../core/deployments.ts';
import { foldJobEvent, JOBS_LISTING, runsSettling } from '../core/jobs.ts';
import type { App, CorralAgent, Deployment, MesosAgent, QueueEntry } from '../core/marathon.ts';
import { parseSse } from '../core/sse.ts';
import { api, authHeaders, errorText, tokenAccepted } from './api.ts';

export interface Agents { mesos: MesosAgent[]; corral: CorralAgent[]; error?: string }

export interface State {
  view: ClusterView;
  /** Whether the first snapshot is in. */
  loaded: boolean;
  live: 'connecting' | 'live' | 'reconnecting';
  agents?: Agents;
  /** Why the last load failed, in the API's words. */
  error?: string;
  /** Bumped on each folded event: pages that read more than the view (versions, debug) read again. */
  revision: number;
}

const APPS = '/v2/apps?embed=apps.tasks&embed=apps.deployments&embed=apps.lastTaskFailure';

/**
 * The cluster as the UI shows it: the API's listings once, then every event of `/v2/events`
 * folded in (core/cluster.ts). The stream is read with fetch() because EventSource cannot send
 * the Authorization header; after a cut it resumes from the last event id it saw.
 */
class Store {
  state: State = { view: EMPTY_VIEW, loaded: false, live: 'connecting', revision: 0 };
  private listeners = new Set<() => void>();
  private lastEventId: string | undefined;
  private buffered: StreamEvent[] | undefined;
  private abort: AbortController | undefined;
  private inFlight = new Map<Refresh, Promise<void>>();
  private again = new Set<Refresh>();
  private frame = 0;
  private agentsWatched = 0;
  private deploymentsWatched = 0;
  private queueReadAt = 0;
  private jobsReadAt = 0;
  /** While the jobs are read again: the events since, to replay over the answer. */
  private jobEvents: StreamEvent[] | undefined;
  /** Bumped by start(): answers to the calls of an earlier session (another token) are dropped. */
  private session = 0;

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(change: Partial<State>): void {
    this.state = { ...this.state, ...change };
    // Many events in one burst (a scale-out) render once per frame.
    if (this.frame === 0) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        for (const listener of this.listeners) listener();
      });
    }
  }

  /** Follows the cluster from scratch: a new token may see other apps than the last one. */
  start(): void {
    this.stop();
    this.lastEventId = undefined;
    this.session += 1;
    this.state = { view: EMPTY_VIEW, loaded: false, live: 'connecting', revision: this.state.revision + 1 };
    this.abort = new AbortController();
    void this.follow(this.abort.signal);
  }

  stop(): void {
    this.abort?.abort();
    this.abort = undefined;
  }

  /** The listings, read after the stream is subscribed: events since are replayed over them. */
  private async loadAll(): Promise<void> {
    const session = this.session;
    try {
      const [apps, deployments, queue, jobs] = await Promise.all([
        api<{ apps: App[] }>('GET', APPS),
        api<Deployment[]>('GET', '/v2/deployments'),
        api<{ queue: QueueEntry[] }>('GET', '/v2/queue'),
        // A token that may read no job gets an empty list (the listing is filtered).
        api<Array<Record<string, unknown>>>('GET', JOBS_LISTING),
      ]);
      if (session !== this.session) return;
      let view = viewOf(apps.apps, deployments, queue.queue, jobs);
      for (const event of this.buffered ?? []) view = foldEvent(view, event).view;
      this.buffered = undefined;
      this.set({ view, loaded: true, error: undefined, revision: this.state.revision + 1 });
      if (this.agentsWatched > 0) this.refresh('agents');
    } catch (err) {
      if (session !== this.session) return;
      this.buffered = undefined;
      this.set({ error: errorText(err), loaded: true });
    }
  }

  /** Reads again what an event said changed, one call at a time per kind (a burst of events makes at most two). */
  refresh(kind: Refresh): void {
    if (this.inFlight.has(kind)) {
      this.again.add(kind);
      return;
    }
    const run = (async () => {
      try {
        if (kind === 'all') {
          // Events that come while the listings are read are replayed over them.
          this.buffered ??= [];
          await this.loadAll();
        } else if (kind === 'queue') {
          this.queueReadAt = Date.now();
          const session = this.session;
          const { queue } = await api<{ queue: QueueEntry[] }>('GET', '/v2/queue');
          if (session === this.session) this.set({ view: { ...this.state.view, queue: new Map(queue.map((e) => [e.app.id, e])) } });
        } else if (kind === 'jobs') {
          const session = this.session;
          // Job events that come while the listing is read are replayed over it (a run may end meanwhile).
          this.jobEvents = [];
          this.jobsReadAt = Date.now();
          try {
            const listed = await api<Array<Record<string, unknown>>>('GET', JOBS_LISTING);
            let jobs = viewOf([], [], [], listed).jobs;
            for (const event of this.jobEvents) jobs = foldJobEvent(jobs, event).jobs;
            if (session === this.session) this.set({ view: { ...this.state.view, jobs }, revision: this.state.revision + 1 });
          } finally {
            this.jobEvents = undefined;
          }
        } else if (kind === 'deployments') {
          const session = this.session;
          const listed = await api<Deployment[]>('GET', '/v2/deployments');
          if (session === this.session) this.set({ view: { ...this.state.view, deployments: mergeReadiness(this.state.view.deployments, listed) } });
        } else await this.loadAgents();
      } catch {
        // The next event reads again; the stream's state shows whether the scheduler is there.
      }
    })();
    this.inFlight.set(kind, run);
    void run.finally(() => {
      this.inFlight.delete(kind);
      if (this.again.delete(kind)) this.refresh(kind);
    });
  }

  private async loadAgents(): Promise<void> {
    let slaves: MesosAgent[];
    try {
      slaves = (await api<{ slaves: MesosAgent[] }>('GET', '/master/slaves')).slaves;
    } catch (err) {
      // A team's token may not read the cluster's agents: the page says so instead of loading for ever.
      this.set({ agents: { mesos: [], corral: [], error: errorText(err) } });
      return;
    }
    // Draining and connection state are the cluster admin's to read; without them, resources alone.
    let corral: CorralAgent[] = [];
    let error: string | undefined;
    try {
      corral = (await api<{ agents: CorralAgent[] }>('GET', '/corral/v1/agents')).agents;
    } catch (err) {
      error = errorText(err);
    }
    this.set({ agents: { mesos: slaves, corral, ...(error !== undefined ? { error } : {}) } });
  }

  /** The agents page reads agents while it is shown, again on each event that may change their use. */
  watchAgents(): () => void {
    this.agentsWatched += 1;
    this.refresh('agents');
    return () => {
      this.agentsWatched -= 1;
    };
  }

  /**
   * The Deployments page, while shown: readiness results come in no event, so while a deployment
   * waits on readiness checks they are read on the stream's heartbeat (as the queue is).
   */
  watchDeployments(): () => void {
    this.deploymentsWatched += 1;
    this.refresh('deployments');
    return () => {
      this.deploymentsWatched -= 1;
    };
  }

  private apply(event: StreamEvent): void {
    if (this.buffered !== undefined) {
      this.buffered.push(event);
      return;
    }
    this.jobEvents?.push(event);
    const { view, refresh } = foldEvent(this.state.view, event);
    this.set({ view, revision: this.state.revision + 1 });
    if (refresh !== undefined) this.refresh(refresh);
    if (this.agentsWatched > 0 && (event.eventType === 'status_update_event' || refresh === 'agents')) this.refresh('agents');
  }

  /**
   * The one thing no event tells: that the scheduler tried to place an app's instances and could
   * not (Waiting, and why), or how much of a launch delay is left. While a deployment is under
   * way or something is queued, the queue is read again on the stream's heartbeat (every 5 s) if
   * no event has had it read lately; when all is placed, nothing is read. Likewise a job run's
   * progress (INITIAL → STARTING → ACTIVE), which no event carries: read while a run is on its way.
   */
  private tick(): void {
    const { deployments, queue, jobs } = this.state.view;
    if ((deployments.size > 0 || queue.size > 0) && Date.now() - this.queueReadAt > 4000) this.refresh('queue');
    if (runsSettling(jobs) && Date.now() - this.jobsReadAt > 4000) this.refresh('jobs');
    if (this.deploymentsWatched > 0 && [...deployments.values()].some((d) => d.currentActions.some((a) => (this.state.view.apps.get(a.app)?.readinessChecks as unknown[] | undefined)?.length))) this.refresh('deployments');
  }

  private async follow(signal: AbortSignal): Promise<void> {
    let wait = 500;
    while (!signal.aborted) {
      try {
        const response = await fetch('/v2/events', {
          headers: { accept: 'text/event-stream', ...authHeaders(), ...(this.lastEventId !== undefined ? { 'last-event-id': this.lastEventId } : {}) },
          signal,
        });
        if (response.status === 401) {
          // api.ts' handler (a 401 of any call) asks for a token; start() follows again once there is one.
          await tokenAccepted().catch(() => undefined);
          return;
        }
        if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`);
        this.set({ live: 'live' });
        wait = 500;
        if (this.lastEventId === undefined || !this.state.loaded) {
          this.buffered = [];
          void this.loadAll();
        }
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let rest = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parsed = parseSse(rest + value);
          rest = parsed.rest;
          this.tick();
          for (const frame of parsed.frames) {
            if (frame.id !== undefined) this.lastEventId = frame.id;
            try {
              this.apply(JSON.parse(frame.data) as StreamEvent);
            } catch {
              // A frame that is not an event (none are sent) changes nothing.
            }
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        this.set({ error: this.state.loaded ? undefined : errorText(err) });
      }
      if (signal.aborted) return;
      this.set({ live: 'reconnecting' });
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 10_000);
    }
  }
}

export const store = new Store();

/** The store's state, re-rendering the component on each change. */
export function useStore(): State {
  const [state, setState] = useState(store.state);
  useEffect(() => store.subscribe(() => setState(store.state)), []);
  return state;
}

/** The time, moved on now and then so that ages stay right (a clock, not a poll of the API). */
export function useNow(everyMs = 10_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
