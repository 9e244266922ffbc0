/**
 * What one segment of an app or group id may be. Shared so that the scheduler's id check and the
 * auth room's path matching can never disagree about what a segment is.
 */
// COMPAT(marathon): the segment rule and its message are Marathon's, so tools that match on it keep working.
export const MARATHON_ID_SEGMENT = /^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;

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
