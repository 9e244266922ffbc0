/**
 * How late a scheduled job run starts. A per-second schedule runs a trivial command on a real
 * `corral up`; for each slot the bench times, from the slot's instant (`scheduledAt`), the
 * run's `job_run_started` event and its task's TASK_RUNNING event, as received by a client.
 *
 * Reference, on the same machine in the same run: plain Node with a timer aligned to each second
 * spawning the same command (what the lag of a local cron-like loop is, with nothing durable).
 * Metronome and Chronos are not packaged for Debian; their granularity is a minute.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { startCorral } from '../test/support/corral-up.ts';

const SLOTS = Number(process.env.BENCH_JOB_SLOTS ?? 30);
/** Printed beside the figure: a per-second schedule keeps up when each run starts within its second. */
const TARGET_P99_MS = 1000;

interface Io {
  log: (line: string) => void;
  table: (line: string) => void;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Plain Node: at each whole second, spawn `true`; the lag from the second to the child's spawn event. */
async function reference(slots: number): Promise<number[]> {
  const lags: number[] = [];
  for (let i = 0; i < slots; i += 1) {
    const slot = Math.ceil(Date.now() / 1000) * 1000;
    await sleep(slot - Date.now());
    await new Promise<void>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', 'true'], { stdio: 'ignore' });
      child.once('spawn', () => lags.push(Date.now() - slot));
      child.once('error', reject);
      child.once('exit', () => resolve());
    });
  }
  return lags;
}

export async function runJobsBench(io: Io): Promise<void> {
  io.log(`bench: starting corral up (a per-second schedule, ${SLOTS} slots)`);
  const corral = await startCorral();
  const { scheduler } = corral.urls;
  const started = new Map<string, number>();
  const running = new Map<string, number>();
  const taskSlot = new Map<string, string>();
  const events = await request(`${scheduler}/v2/events`, { headers: { ...corral.auth, accept: 'text/event-stream' } });
  void (async () => {
    let buffer = '';
    for await (const chunk of events.body) {
      buffer += (chunk as Buffer).toString();
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame.split('\n').find((l) => l.startsWith('data:'))?.slice(5);
        if (data === undefined) continue;
        const event = JSON.parse(data) as { eventType: string; jobRun?: { scheduledAt?: string; tasks?: Array<{ id: string }> }; taskId?: string; taskStatus?: string };
        const now = Date.now();
        if (event.eventType === 'job_run_started' && event.jobRun?.scheduledAt !== undefined) started.set(event.jobRun.scheduledAt, now);
        if (event.eventType === 'status_update_event' && event.taskStatus === 'TASK_RUNNING' && event.taskId !== undefined) running.set(event.taskId, now);
        if ((event.eventType === 'job_run_finished' || event.eventType === 'job_run_failed') && event.jobRun?.scheduledAt !== undefined) {
          for (const task of event.jobRun.tasks ?? []) taskSlot.set(task.id, event.jobRun.scheduledAt);
        }
      }
    }
  })().catch(() => undefined);

  const headers = { 'content-type': 'application/json', ...corral.auth };
  try {
    const created = await request(`${scheduler}/v1/jobs`, {
      method: 'POST', headers,
      body: JSON.stringify({ id: 'bench.tick', run: { cmd: 'true', cpus: 0.1, mem: 32 }, schedules: [{ id: 'every-second', cron: '* * * * * *' }] }),
    });
    if (created.statusCode !== 201) throw new Error(`POST /v1/jobs: ${created.statusCode} ${await created.body.text()}`);
    await created.body.dump();
    while (taskSlot.size < SLOTS) {
      await sleep(500);
      io.log(`bench: ${taskSlot.size}/${SLOTS} runs finished`);
    }
    const removed = await request(`${scheduler}/v1/jobs/bench.tick?stopCurrentJobRuns=true`, { method: 'DELETE', headers });
    await removed.body.dump();
  } finally {
    events.body.destroy();
    await corral.stop();
  }

  const toStart = [...started].map(([slot, at]) => at - Date.parse(slot));
  const toRunning = [...taskSlot].flatMap(([taskId, slot]) => (running.has(taskId) ? [(running.get(taskId) as number) - Date.parse(slot)] : []));
  io.log('bench: reference run (plain Node, a timer per second spawning the same command)');
  const plain = await reference(SLOTS);
  const line = (label: string, values: number[], target?: string): string =>
    `${label.padEnd(46)} p50 ${percentile(values, 50).toFixed(1).padStart(7)} ms   p99 ${percentile(values, 99).toFixed(1).padStart(7)} ms   max ${Math.max(...values).toFixed(1).padStart(7)} ms${target === undefined ? '' : `   target ${target}`}`;
  io.table(`\njob slots on corral up (loopback, 2 agents), ${toStart.length} slots`);
  io.table(line('slot -> job_run_started received', toStart));
  io.table(line('slot -> task TASK_RUNNING received', toRunning, `p99 <= ${TARGET_P99_MS} ms`));
  io.table(line('reference: plain Node timer -> spawn', plain));
}
