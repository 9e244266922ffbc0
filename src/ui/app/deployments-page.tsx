import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import type { Deployment } from '../core/marathon.ts';
import { routeHash } from '../core/routes.ts';
import { api, errorText } from './api.ts';
import type { State } from './store.ts';
import { Confirm, ErrorNote } from './widgets.tsx';

export function DeploymentsPage({ state }: { state: State }) {
  const deployments = [...state.view.deployments.values()].sort((a, b) => (a.version < b.version ? -1 : 1));
  const [asking, setAsking] = useState<{ deployment: Deployment; force: boolean }>();
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();
  const cancel = async (deployment: Deployment, force: boolean): Promise<void> => {
    setAsking(undefined);
    try {
      await api('DELETE', `/v2/deployments/${encodeURIComponent(deployment.id)}${force ? '?force=true' : ''}`);
      setOutcome({ ok: true, text: force ? `Deployment ${deployment.id} stopped where it was.` : `Deployment ${deployment.id} is being rolled back.` });
    } catch (err) {
      setOutcome({ ok: false, text: errorText(err) });
    }
  };
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>Deployments</h1>
      <ErrorNote error={state.error} />
      {outcome !== undefined && <p class={outcome.ok ? 'note' : 'error'} role="status">{outcome.text}</p>}
      {!state.loaded ? <p>Loading…</p> : deployments.length === 0 ? <p class="empty">No deployment is running: every app is as asked.</p> : (
        <ul class="cards">
          {deployments.map((d) => (
            <li key={d.id} class="card" data-deployment={d.id}>
              <h2 class="mono">{d.id}</h2>
              <p>Version {d.version} · apps {d.affectedApps.map((id, i) => <Fragment key={id}>{i > 0 && ', '}<a href={routeHash({ page: 'app', id, tab: 'instances' })}>{id}</a></Fragment>)}</p>
              <label class="progress">Step {d.currentStep} of {d.totalSteps}
                <progress max={d.totalSteps} value={Math.max(0, d.currentStep - 1)} />
              </label>
              <ol class="steps">
                {d.steps.map((step, i) => (
                  <li key={i} aria-current={i + 1 === d.currentStep ? 'step' : undefined} class={i + 1 < d.currentStep ? 'done' : i + 1 === d.currentStep ? 'current' : ''}>
                    {step.actions.map((a) => `${a.action} ${a.app}`).join(', ')}
                  </li>
                ))}
              </ol>
              {d.currentActions.some((a) => (a.readinessCheckResults ?? []).length > 0) && (
                <details><summary>Readiness</summary><pre>{JSON.stringify(d.currentActions.map((a) => a.readinessCheckResults), null, 2)}</pre></details>
              )}
              <div class="actions">
                <button type="button" onClick={() => setAsking({ deployment: d, force: false })}>Roll back</button>
                <button type="button" class="danger" onClick={() => setAsking({ deployment: d, force: true })}>Stop</button>
              </div>
            </li>
          ))}
        </ul>
      )}
      <Confirm open={asking !== undefined} danger={asking?.force === true} title={asking?.force === true ? `Stop deployment ${asking.deployment.id}?` : `Roll back deployment ${asking?.deployment.id ?? ''}?`}
        confirmLabel={asking?.force === true ? 'Stop' : 'Roll back'} onCancel={() => setAsking(undefined)}
        onConfirm={() => asking !== undefined && void cancel(asking.deployment, asking.force)}>
        <p>{asking?.force === true
          ? 'The deployment ends where it is: apps keep their new configuration with the instances they have now.'
          : 'A new deployment takes the apps back to the configuration they had before this one.'}</p>
      </Confirm>
    </section>
  );
}
