/**
 * Marathon's Mesos task name for an app: the id's path segments in reverse, joined with `.`
 * (`/prod/backend/api` → `api.backend.prod`). Mesos-DNS builds `<name>.marathon.<domain>` from it.
 */
export function marathonTaskName(appId: string): string {
  return appId
    .split('/')
    .filter((segment) => segment !== '')
    .reverse()
    .join('.');
}
