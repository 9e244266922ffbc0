/**
 * `npm run bench [-- propagation|agent|containers|scheduler|events|dns|lb|ha|jobs]`: every benchmark (or those
 * named), one after the other. Figures, not pass/fail; each prints its progress on stderr and
 * its table on stdout, with a reference run beside it where one can be made on this machine.
 */
import { runAgentBench } from './agent.ts';
import { runContainerBench } from './containers.ts';
import { runDnsBench } from './dns.ts';
import { runEventsBench } from './events.ts';
import { runHaBench } from './ha.ts';
import { runJobsBench } from './jobs.ts';
import { runLbBench } from './lb.ts';
import { runPropagationBench } from './propagation.ts';
import { runSchedulerBench } from './scheduler.ts';

const only = process.argv.slice(2);
const wanted = (name: string): boolean => only.length === 0 || only.includes(name);

if (wanted('propagation')) {
  console.log('\n== change propagation: POST -> RUNNING -> DNS -> LB');
  await runPropagationBench();
}
if (wanted('agent')) {
  console.log('\n== agent: 1,000 long-running and short-lived tasks on one agent');
  await runAgentBench({ log: (line) => process.stderr.write(`${line}\n`), table: (line) => console.log(line) });
}
if (wanted('containers')) {
  console.log('\n== containers: cached container starts beside process starts on one agent, and a cold pull');
  await runContainerBench({ log: (line) => process.stderr.write(`${line}\n`), table: (line) => console.log(line) });
}
if (wanted('scheduler')) {
  console.log('\n== scheduler: simulated agents (BENCH_SCHED_AGENTS x BENCH_SCHED_TASKS, default 1,000 x 100,000)');
  await runSchedulerBench({ log: (line) => process.stderr.write(`${line}\n`), table: (line) => console.log(line) });
}
if (wanted('events')) {
  console.log('\n== events: 200 subscribers while the scheduler commits 10,000 changes');
  await runEventsBench({ log: (line) => process.stderr.write(`${line}\n`), table: (line) => console.log(line) });
}
if (wanted('dns')) {
  console.log('\n== dns: Corral DNS beside NSD (dnsperf), and change -> served');
  await runDnsBench({ log: (line) => process.stderr.write(`${line}\n`), table: (line) => console.log(line) });
}
if (wanted('lb')) {
  console.log('\n== lb: corral lb beside HAProxy and direct (wrk), 10,000 vhosts, route changes under load');
  await runLbBench({ log: (line) => process.stderr.write(`${line}\n`), table: (line) => console.log(line) });
}
if (wanted('ha')) {
  console.log('\n== ha: kill -9 of the leader of 3 schedulers on etcd -> first write acknowledged, 10 times');
  await runHaBench({ log: (line) => process.stderr.write(`${line}\n`), table: (line) => console.log(line) });
}
if (wanted('jobs')) {
  console.log('\n== jobs: a per-second schedule on corral up -> how late each slot\'s run starts');
  await runJobsBench({ log: (line) => process.stderr.write(`${line}\n`), table: (line) => console.log(line) });
}
