import { NEW_APP_FORM } from '../core/app-form.ts';
import { routeHash } from '../core/routes.ts';
import { api } from './api.ts';
import { AppDefinitionEditor } from './app-form.tsx';

export function NewAppPage() {
  const create = async (body: Record<string, unknown>): Promise<void> => {
    const app = await api<{ id: string }>('POST', '/v2/apps', body);
    location.hash = routeHash({ page: 'app', id: app.id, tab: 'instances' });
  };
  return (
    <section aria-labelledby="page-title">
      <p class="crumbs"><a href="#/apps">Apps</a> / new</p>
      <h1 id="page-title" tabIndex={-1}>Create an app</h1>
      <AppDefinitionEditor base={{}} initial={NEW_APP_FORM} submitLabel="Create" jsonLabel="App definition (JSON)" send={create} />
      <p><a class="button" href="#/apps">Cancel</a></p>
    </section>
  );
}
