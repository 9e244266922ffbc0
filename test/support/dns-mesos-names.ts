import { readFileSync } from 'node:fs';

interface MesosDnsNames {
  labels: Array<{ in: string; rfc1123?: string; rfc952?: string }>;
  marathonTaskNames: Array<{ appId: string; taskName: string; label: string }>;
  taskIdHash: { cases: Array<{ taskId: string; hash: string }> };
  agentSuffix: { cases: Array<{ agentId: string; suffix: string }> };
}

/** The naming facts of Mesos-DNS from the shared contracts (../shared beside the repository, as in CI). */
export const MESOS_DNS_NAMES = JSON.parse(
  readFileSync(new URL('../../../shared/fixtures/mesos-dns-names.json', import.meta.url), 'utf8'),
) as MesosDnsNames;
