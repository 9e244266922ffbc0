/**
 * How fast a change reaches clients. For each of N apps it posts the app to a
 * real `corral up` and times, from the POST: the first TASK_RUNNING event, the first DNS answer
 * (UDP, polled every 2 ms) and the first request routed by the LB (polled every 2 ms).
 *
 * Reference: Mesos-DNS polls the master every 60 s (its default refreshSeconds) and marathon-lb
 * reloads HAProxy on each change, so the comparison figure for them is tens of seconds; neither
 * is packaged for Debian, so no side-by-side run is made here.
 */
import { createSocket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import dns2 from 'dns2';
import { startCorral } from '../test/support/corral-up.ts';

const APPS = Number(process.env.BENCH_APPS ?? 10);
const { Packet } = dns2;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function dnsAnswers(server: string, name: string): Promise<boolean> {
  const [host = '127.0.0.1', port = '53'] = server.split(':');
  const query = new Packet();
  query.header.id = Math.floor(Math.random() * 65535);
  query.header.rd = 1;
  query.questions.push(new Packet.Question(name, Packet.TYPE.A, Packet.CLASS.IN));
  const socket = createSocket('udp4');
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 200);
      socket.on('message', (message) => {
        clearTimeout(timer);
        resolve(Packet.parse(message).answers.length > 0);
      });
      socket.send(query.toBuffer(), Number(port), host);
    });
  } finally {
    socket.close();
  }
}

async function until(probe: () => Promise<boolean>, timeoutMs = 20000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await probe().catch(() => false)) return performance.now();
    await sleep(2);
  }
  throw new Error('timed out');
}

export async function runPropagationBench(): Promise<void> {
  process.stderr.write(`bench: starting corral up (${APPS} apps to post)\n`);
  const corral = await startCorral();
  const { scheduler, dns, lbHttp } = corral.urls;
  const running = new Map<string, number>();
  const events = await request(`${scheduler}/v2/events?event_type=status_update_event`, { headers: corral.auth });
  void (async () => {
    let buffer = '';
    for await (const chunk of events.body) {
      buffer += (chunk as Buffer).toString();
      for (const match of buffer.matchAll(/"taskStatus":"TASK_RUNNING","message":"[^"]*","appId":"([^"]+)"/g)) {
        if (!running.has(match[1] ?? '')) running.set(match[1] ?? '', performance.now());
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 1);
    }
  })().catch(() => undefined);

  const rows: Array<{ running: number; dns: number; lb: number }> = [];
  try {
    for (let i = 1; i <= APPS; i += 1) {
      const id = `/bench-${i}`;
      const body = {
        id,
        cmd: `exec node -e "require('http').createServer((q, r) => r.end('ok')).listen(+process.env.PORT0, process.env.HOST)"`,
        // cpus is a hard CPU quota (cgroups): node needs a share of a core to start quickly.
        cpus: 0.5,
        mem: 128,
        labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: `bench-${i}.local` },
      };
      const t0 = performance.now();
      const posted = await request(`${scheduler}/v2/apps`, { method: 'POST', headers: { 'content-type': 'application/json', ...corral.auth }, body: JSON.stringify(body) });
      await posted.body.dump();
      const [dnsAt, lbAt] = await Promise.all([
        until(() => dnsAnswers(dns, `bench-${i}.marathon.mesos`)),
        until(async () => {
          const r = await request(`${lbHttp}/`, { headers: { host: `bench-${i}.local` } });
          await r.body.dump();
          return r.statusCode === 200;
        }),
      ]);
      const runningAt = running.get(id) ?? NaN;
      rows.push({ running: runningAt - t0, dns: dnsAt - t0, lb: lbAt - t0 });
      process.stderr.write(`bench: app ${i}/${APPS}: running ${(runningAt - t0).toFixed(1)} ms, dns ${(dnsAt - t0).toFixed(1)} ms, lb ${(lbAt - t0).toFixed(1)} ms after POST\n`);
    }
  } finally {
    events.body.destroy();
    await corral.stop();
  }
  const line = (label: string, values: number[]) =>
    `${label.padEnd(44)} p50 ${percentile(values, 50).toFixed(1).padStart(7)} ms   p90 ${percentile(values, 90).toFixed(1).padStart(7)} ms   max ${Math.max(...values).toFixed(1).padStart(7)} ms`;
  console.log(`\nchange propagation over ${rows.length} apps (corral up on loopback, 2 agents)`);
  console.log(line('POST -> TASK_RUNNING event', rows.map((r) => r.running)));
  console.log(line('POST -> first DNS answer', rows.map((r) => r.dns)));
  console.log(line('POST -> first request routed by the LB', rows.map((r) => r.lb)));
  console.log(line('TASK_RUNNING -> DNS answer', rows.map((r) => r.dns - r.running)));
  // No health checks yet: the LB route counts from TASK_RUNNING (spawn) until the task itself listens.
  console.log(line('TASK_RUNNING -> LB route (incl. task start-up)', rows.map((r) => r.lb - r.running)));
  console.log('reference: Mesos-DNS refreshSeconds default 60000 ms; marathon-lb reloads HAProxy per change (not packaged here, not run)');
}

