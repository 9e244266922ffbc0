/**
 * `node --import tsx bench/support-lease-holder.ts <etcd url> <key> <ttl s>`: takes `key` bound to a
 * lease of its own (create-if-absent, as the schedulers' lock), renews it every ttl/3 as they do,
 * prints `held` and keeps it until killed. bench/ha.ts kills it with SIGKILL to time the bare handover.
 */
import { EtcdClient } from '../src/scheduler/store/etcd/etcd-client.ts';

const [url = '', key = '', ttl = ''] = process.argv.slice(2);
const ttlSeconds = Number(ttl);
const client = new EtcdClient([url]);
const lease = await client.leaseGrant(ttlSeconds);
const taken = await client.txn([{ key, target: 'CREATE', revision: 0 }], [{ put: { key, value: `holder ${process.pid}`, lease } }]);
if (!taken.succeeded) {
  process.stderr.write(`${key} is held already\n`);
  process.exit(1);
}
setInterval(() => void client.leaseKeepAlive(lease), (ttlSeconds * 1000) / 3);
process.stdout.write('held\n');
