import type { PortDefinition } from '../../events/types.ts';
import type { AppDefinition } from '../types.ts';

export const SERVICE_PORT_RANGE = { begin: 10000, end: 20000 } as const;

/** An app's service ports: its port definitions' or, off the host network, its port mappings'. */
export function servicePortsOf(app: AppDefinition): number[] {
  return app.container?.portMappings !== undefined ? app.container.portMappings.map((m) => m.servicePort) : app.portDefinitions.map((p) => p.port);
}

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
  /** Where a port's error points (port mappings give `/container/portMappings/N/servicePort`). */
  pathOf: (index: number) => string = (index) => `/portDefinitions/${index}/port`,
): ServicePortResult {
  const taken = new Map<number, string>();
  for (const app of apps.values()) {
    if (app.id === appId) continue;
    for (const port of servicePortsOf(app)) taken.set(port, app.id);
  }
  const ports: PortDefinition[] = [];
  const mine = new Set<number>();
  for (const [index, def] of requested.entries()) {
    if (def.port !== 0) {
      const holder = taken.get(def.port);
      if (holder !== undefined || mine.has(def.port)) {
        return { ok: false, path: pathOf(index), error: `service port ${def.port} is already used by ${holder ?? appId}` };
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
    const kept = previous === undefined ? undefined : servicePortsOf(previous)[index];
    if (kept !== undefined && !taken.has(kept) && !mine.has(kept)) {
      ports[index] = { ...def, port: kept };
      mine.add(kept);
      continue;
    }
    while (cursor <= SERVICE_PORT_RANGE.end && (taken.has(cursor) || mine.has(cursor))) cursor += 1;
    if (cursor > SERVICE_PORT_RANGE.end) {
      return { ok: false, path: pathOf(index), error: 'no free service port left in 10000-20000' };
    }
    ports[index] = { ...def, port: cursor };
    mine.add(cursor);
  }
  return { ok: true, ports };
}
