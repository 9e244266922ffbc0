import { readFileSync } from 'node:fs';

interface MesosDnsNames {
  labels: Array<{ in: string; rfc1123?: string; rfc952?: string }>;
  fragments: Array<{ in: string; fragment1123?: string; fragment952?: string }>;
  marathonTaskNames: Array<{ appId: string; taskName: string; label: string }>;
  taskIdHash: { cases: Array<{ taskId: string; hash: string }> };
  agentSuffix: { cases: Array<{ agentId: string; suffix: string }> };
}

/**
 * The naming facts of Mesos-DNS: a copy of the shared contracts' fixture kept in the repository, so
 * that a clone with nothing beside it passes its tests.
 */
export const MESOS_DNS_NAMES = JSON.parse(
  readFileSync(new URL('../fixtures/mesos-dns-names.json', import.meta.url), 'utf8'),
) as MesosDnsNames;
