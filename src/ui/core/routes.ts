/**
 * The UI's pages, addressed by the URL's fragment (`#/apps`, `#/app?id=/web/hello&tab=config`),
 * so the scheduler serves one page and a reload or a shared link lands on the same view.
 */
export type AppTab = 'instances' | 'config' | 'edit' | 'debug' | 'reach';
export const APP_TABS: readonly AppTab[] = ['instances', 'config', 'edit', 'debug', 'reach'];

export type Route =
  | { page: 'apps'; search: string }
  | { page: 'app'; id: string; tab: AppTab }
  | { page: 'new' }
  | { page: 'deployments' }
  | { page: 'agents' }
  | { page: 'jobs' }
  | { page: 'new-job' }
  | { page: 'job'; id: string }
  | { page: 'quotas' };

/** The top navigation, in order. */
export const NAV: ReadonlyArray<{ page: Route['page']; label: string; hash: string }> = [
  { page: 'apps', label: 'Apps', hash: '#/apps' },
  { page: 'jobs', label: 'Jobs', hash: '#/jobs' },
  { page: 'deployments', label: 'Deployments', hash: '#/deployments' },
  { page: 'agents', label: 'Agents', hash: '#/agents' },
  { page: 'quotas', label: 'Quotas', hash: '#/quotas' },
];

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?', 2);
  const params = new URLSearchParams(query);
  switch (path.replace(/\/+$/, '')) {
    case '/app': {
      const id = params.get('id');
      const tab = params.get('tab') as AppTab | null;
      if (id !== null && id !== '') return { page: 'app', id, tab: tab !== null && APP_TABS.includes(tab) ? tab : 'instances' };
      return { page: 'apps', search: '' };
    }
    case '/new':
      return { page: 'new' };
    case '/deployments':
      return { page: 'deployments' };
    case '/agents':
      return { page: 'agents' };
    case '/jobs':
      return { page: 'jobs' };
    case '/new-job':
      return { page: 'new-job' };
    case '/quotas':
      return { page: 'quotas' };
    case '/job': {
      const id = params.get('id');
      return id !== null && id !== '' ? { page: 'job', id } : { page: 'jobs' };
    }
    default:
      return { page: 'apps', search: params.get('q') ?? '' };
  }
}

export function routeHash(route: Route): string {
  switch (route.page) {
    case 'app':
      return `#/app?${new URLSearchParams({ id: route.id, tab: route.tab }).toString()}`;
    case 'job':
      return `#/job?${new URLSearchParams({ id: route.id }).toString()}`;
    case 'apps':
      return route.search === '' ? '#/apps' : `#/apps?${new URLSearchParams({ q: route.search }).toString()}`;
    default:
      return `#/${route.page}`;
  }
}
