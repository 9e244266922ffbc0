import { useEffect, useMemo, useState } from 'preact/hooks';
import { agentRows, type AgentRow } from '../core/agents.ts';
import { api, errorText } from './api.ts';
import { store, type State } from './store.ts';
import { Confirm, ErrorNote, UsageBar } from './widgets.tsx';

export function AgentsPage({ state }: { state: State }) {
  useEffect(() => store.watchAgents(), []);
  const rows = useMemo(() => (state.agents === undefined ? undefined : agentRows(state.agents.mesos, state.agents.corral)), [state.agents]);
  const tasksBy = useMemo(() => {
    const counts = new Map<string, number>();
    for (const app of state.view.apps.values()) for (const task of app.tasks ?? []) if (task.slaveId !== undefined) counts.set(task.slaveId, (counts.get(task.slaveId) ?? 0) + 1);
    return counts;
  }, [state.view.apps]);
  const [asking, setAsking] = useState<AgentRow>();
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();
  const drain = async (agent: AgentRow, on: boolean): Promise<void> => {
    setAsking(undefined);
    try {
      await api(on ? 'POST' : 'DELETE', `/corral/v1/agents/${encodeURIComponent(agent.id)}/drain`);
      setOutcome({ ok: true, text: on ? `${agent.hostname} is draining: no new tasks, its tasks move elsewhere.` : `${agent.hostname} takes tasks again.` });
      store.refresh('agents');
    } catch (err) {
      setOutcome({ ok: false, text: errorText(err) });
    }
  };
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>Agents</h1>
      {state.agents?.error !== undefined && (
        <p class="note">{state.agents.mesos.length === 0 ? 'Agents cannot be shown' : 'Draining state not shown'}: {state.agents.error}</p>
      )}
      {outcome !== undefined && <p class={outcome.ok ? 'note' : 'error'} role="status">{outcome.text}</p>}
      <ErrorNote error={state.error} />
      {rows === undefined ? <p>Loading…</p> : rows.length === 0 ? state.agents?.error !== undefined ? null : <p class="empty">No agent has registered. Start one with <code>corral agent --master …</code>.</p> : (
        <table class="agents">
          <caption class="visually-hidden">Agents: resources used, state and tasks</caption>
          <thead><tr><th scope="col">Agent</th><th scope="col">State</th><th scope="col">CPUs</th><th scope="col">Memory</th><th scope="col">Disk</th><th scope="col">Ports</th><th scope="col" class="num">Tasks</th><th scope="col">Attributes</th><th scope="col">Roles</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {rows.map((a) => (
              <tr key={a.id} data-agent={a.id}>
                <th scope="row">{a.hostname}<div class="sub mono">{a.id}</div></th>
                <td data-label="State">
                  <span class={`badge ${a.connected ? 'badge-running' : 'badge-waiting'}`}>{a.connected ? 'connected' : 'disconnected'}</span>
                  {a.draining && <span class="badge badge-delayed">draining</span>}
                </td>
                <td data-label="CPUs"><UsageBar label={`CPUs of ${a.hostname}`} used={a.cpus.used} total={a.cpus.total} /></td>
                <td data-label="Memory"><UsageBar label={`Memory of ${a.hostname}`} used={a.mem.used} total={a.mem.total} unit=" MiB" /></td>
                <td data-label="Disk"><UsageBar label={`Disk of ${a.hostname}`} used={a.disk.used} total={a.disk.total} unit=" MiB" /></td>
                <td data-label="Ports"><UsageBar label={`Ports of ${a.hostname}`} used={a.ports.used} total={a.ports.total} /></td>
                <td data-label="Tasks" class="num">{tasksBy.get(a.id) ?? 0}</td>
                <td data-label="Attributes" class="mono">{Object.entries(a.attributes).map(([k, v]) => `${k}:${v}`).join(' ') || '—'}</td>
                <td data-label="Roles">{a.roles.length === 0 ? 'all unreserved (*)' : a.roles.map((r) => <div key={r}>{r}</div>)}</td>
                <td class="row-actions">
                  {a.draining
                    ? <button type="button" aria-label={`Cancel draining ${a.hostname}`} onClick={() => void drain(a, false)}>Cancel drain</button>
                    : <button type="button" aria-label={`Drain ${a.hostname}`} onClick={() => setAsking(a)}>Drain</button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Confirm open={asking !== undefined} title={`Drain ${asking?.hostname ?? ''}?`} confirmLabel="Drain" onCancel={() => setAsking(undefined)}
        onConfirm={() => asking !== undefined && void drain(asking, true)}>
        <p>No new task goes there, and its tasks are moved to other agents as each app's upgrade strategy allows.</p>
      </Confirm>
    </section>
  );
}
