/**
 * NSD (NLnet Labs' authoritative server, C) serving the same zone as Corral DNS: the reference
 * for `bench/dns.ts`. One server process, response rate limiting off, no zone database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DnsRecord, RecordTable } from '../src/dns/core/record-types.ts';

/** The table as an RFC 1035 master file, every owner fully qualified. */
export function zoneFile(table: RecordTable): string {
  const lines: string[] = [];
  // The SOA first: NSD wants it at the top.
  lines.push(recordLine(table.soa));
  for (const [name, entry] of table.names) {
    for (const record of Object.values(entry).flat() as DnsRecord[]) {
      if (record.type === 'SOA' || !(name === table.domain || name.endsWith(`.${table.domain}`))) continue;
      lines.push(recordLine(record));
    }
  }
  return `${lines.join('\n')}\n`;
}

function recordLine(record: DnsRecord): string {
  const head = `${record.name}. ${record.ttl} IN ${record.type}`;
  switch (record.type) {
    case 'A':
    case 'AAAA':
      return `${head} ${record.address}`;
    case 'SRV':
      return `${head} ${record.priority} ${record.weight} ${record.port} ${record.target}`;
    case 'NS':
    case 'PTR':
      return `${head} ${record.host}`;
    case 'SOA':
      return `${head} ${record.mname} ${record.rname} ${record.serial} ${record.refresh} ${record.retry} ${record.expire} ${record.minimum}`;
  }
}

export interface NsdProcess {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `nsd -d` on 127.0.0.1:`port` for `table`'s zone, with its files in `dir`. */
export function startNsd(table: RecordTable, port: number, dir: string): NsdProcess {
  writeFileSync(join(dir, 'zone'), zoneFile(table));
  const conf = [
    'server:',
    `  ip-address: 127.0.0.1@${port}`,
    `  port: ${port}`,
    '  server-count: 1',
    '  username: ""',
    '  chroot: ""',
    `  zonesdir: "${dir}"`,
    '  database: ""',
    `  pidfile: "${join(dir, 'nsd.pid')}"`,
    `  xfrdfile: "${join(dir, 'xfrd.state')}"`,
    `  zonelistfile: "${join(dir, 'zone.list')}"`,
    `  logfile: "${join(dir, 'nsd.log')}"`,
    '  verbosity: 0',
    '  rrl-ratelimit: 0',
    '  rrl-whitelist-ratelimit: 0',
    'remote-control:',
    '  control-enable: no',
    'zone:',
    `  name: ${table.domain}`,
    '  zonefile: zone',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'nsd.conf'), conf);
  const child = spawn('nsd', ['-d', '-c', join(dir, 'nsd.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`nsd exited ${code}: ${stderr}\n`);
  });
  return {
    child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
