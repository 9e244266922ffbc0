import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { deploymentProgress } from '../core/deployments.ts';
import type { Deployment } from '../core/marathon.ts';
import { routeHash } from '../core/routes.ts';
import { api, errorText } from './api.ts';
import { store, type State } from './store.ts';
import { Confirm, ErrorNote } from './widgets.tsx';

export function DeploymentsPage({ state }: { state: State }) {
  const deployments = [...state.view.deployments.values()].sort((a, b) => (a.version < b.version ? -1 : 1));
  const [asking, setAsking] = useState<{ deployment: Deployment; force: boolean }>();
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();
  useEffect(() => store.watchDeployments(), []);
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
              {(() => {
                const progress = deploymentProgress(d, state.view.apps);
                return (
                  <>
                    <label class="progress">Step {d.currentStep} of {d.totalSteps}, {Math.round(progress.fraction * 100)}% done
                      <progress max={1} value={progress.fraction} />
                    </label>
                    <ol class="steps">
                      {d.steps.map((step, i) => (
                        <li key={i} aria-current={i + 1 === d.currentStep ? 'step' : undefined} class={i + 1 < d.currentStep ? 'done' : i + 1 === d.currentStep ? 'current' : ''}>
                          {step.actions.map((a) => `${a.action} ${a.app}`).join(', ')}
                        </li>
                      ))}
                    </ol>
                    {progress.actions.length > 0 && <h3>Now</h3>}
                    <ul class="actions-now">
                      {progress.actions.map((a) => (
                        <li key={`${a.action} ${a.app}`} data-action={`${a.action} ${a.app}`}>
                          <span class="mono">{a.action}</span> <a href={routeHash({ page: 'app', id: a.app, tab: 'instances' })}>{a.app}</a>: {a.words}
                          {a.readiness.length > 0 && (
                            <table class="readiness">
                              <caption>Readiness checks</caption>
                              <thead><tr><th scope="col">Instance</th><th scope="col">Check</th><th scope="col">Result</th></tr></thead>
                              <tbody>
                                {a.readiness.map((r) => (
                                  <tr key={`${r.taskId} ${r.name}`} class={r.ready ? 'ready' : 'not-ready'}>
                                    <th scope="row" class="mono">{r.taskId}</th>
                                    <td data-label="Check">{r.name}</td>
                                    <td data-label="Result"><span class={`badge ${r.ready ? 'badge-running' : 'badge-waiting'}`}>{r.ready ? 'ready' : 'not ready'}</span> {r.ready ? '' : r.text.replace(/^not ready: /, '')}</td>
                                  </tr>
                                ))}
                              </tbody>
                            </table>
                          )}
                        </li>
                      ))}
                    </ul>
                  </>
                );
              })()}
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
