import type { PortDefinition } from '../../events/types.ts';
import type { AppDefinition } from '../types.ts';

export const SERVICE_PORT_RANGE = { begin: 10000, end: 20000 } as const;

export type ServicePortResult = { ok: true; ports: PortDefinition[] } | { ok: false; path: string; error: string };

/**
 * Gives every port definition a cluster-unique service port. `port: 0` keeps the port the
 * app already had at that index (routes stay stable across updates), else takes the lowest free.
 */
export function assignServicePorts(
  appId: string,
  requested: readonly PortDefinition[],
  previous: AppDefinition | undefined,
  apps: ReadonlyMap<string, AppDefinition>,
): ServicePortResult {
  const taken = new Map<number, string>();
  for (const app of apps.values()) {
    if (app.id === appId) continue;
    for (const def of app.portDefinitions) taken.set(def.port, app.id);
  }
  const ports: PortDefinition[] = [];
  const mine = new Set<number>();
  for (const [index, def] of requested.entries()) {
    if (def.port !== 0) {
      const holder = taken.get(def.port);
      if (holder !== undefined || mine.has(def.port)) {
        return { ok: false, path: `/portDefinitions/${index}/port`, error: `service port ${def.port} is already used by ${holder ?? appId}` };
      }
      mine.add(def.port);
      ports.push(def);
    } else {
      ports.push(def);
    }
  }
  let cursor: number = SERVICE_PORT_RANGE.begin;
  for (const [index, def] of ports.entries()) {
    if (def.port !== 0) continue;
    const kept = previous?.portDefinitions[index]?.port;
    if (kept !== undefined && !taken.has(kept) && !mine.has(kept)) {
      ports[index] = { ...def, port: kept };
      mine.add(kept);
      continue;
    }
    while (cursor <= SERVICE_PORT_RANGE.end && (taken.has(cursor) || mine.has(cursor))) cursor += 1;
    if (cursor > SERVICE_PORT_RANGE.end) {
      return { ok: false, path: `/portDefinitions/${index}/port`, error: 'no free service port left in 10000-20000' };
    }
    ports[index] = { ...def, port: cursor };
    mine.add(cursor);
  }
  return { ok: true, ports };
}
