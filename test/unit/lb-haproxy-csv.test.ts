import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildRoutingTable } from '../../src/lb/core/routing-table.ts';
import { HAPROXY_COLUMNS, haproxyStatsCsv, type PoolTraffic, type TableBackends } from '../../src/lb/stats/core/haproxy-csv.ts';
import { busiestSecond, countAt, lastSecond, newSecondCounter } from '../../src/lb/stats/core/per-second.ts';
import { app, task, view } from '../support/lb-fixtures.ts';

/** Rows by `pxname/svname`, each a record by column name, as zdd.py and marathon-lb-autoscale read them. */
function parse(csv: string): Map<string, Record<string, string>> {
  const [header = '', ...lines] = csv.trimEnd().split('\n');
  assert.ok(header.startsWith('# ') && header.endsWith(','), 'header as HAProxy prints it');
  const columns = header.slice(2, -1).split(',');
  const rows = new Map<string, Record<string, string>>();
  for (const line of lines) {
    assert.ok(line.endsWith(','), line);
    const values = line.slice(0, -1).split(',');
    assert.equal(values.length, columns.length, line);
    const row = Object.fromEntries(columns.map((c, i) => [c, values[i] ?? '']));
    rows.set(`${row.pxname}/${row.svname}`, row);
  }
  return rows;
}

const healthCheck = [{ protocol: 'HTTP', path: '/', portIndex: 0 }];
const table = buildRoutingTable(view(
  [
    app('/web', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 'web.test' }, [10000], { healthChecks: healthCheck }),
    app('/db', { HAPROXY_GROUP: 'g', HAPROXY_0_BALANCE: 'leastconn' }, [10001]),
    app('/empty', { HAPROXY_GROUP: 'g' }, [10002]),
  ],
  [
    task('/web', 1, [31000], { host: '10.0.0.1', healthy: true }),
    task('/web', 2, [31001], { host: '10.0.0.2', healthy: true }),
    task('/db', 1, [31002], { host: '10.0.0.3' }),
  ],
), { groups: ['g'] });
const webTraffic: PoolTraffic = { requests: 40, lastSecond: 7, busiestSecond: 12, responses: [0, 30, 2, 5, 3, 0], denied: 2, noBackend: 1, upstreamErrors: 3 };
const dbTraffic: PoolTraffic = { requests: 9, lastSecond: 1, busiestSecond: 4, responses: [0, 0, 0, 0, 0, 0], denied: 0, noBackend: 0, upstreamErrors: 0 };
const input: TableBackends = {
  table,
  backends: {
    '10.0.0.1:31000': { active: 2, ejected: false, total: 25 },
    '10.0.0.2:31001': { active: 1, ejected: true, total: 15 },
    '10.0.0.3:31002': { active: 4, ejected: false, total: 9 },
  },
  pools: { '/web:10000': webTraffic, '/db:10001': dbTraffic },
};

test('haproxyStatsCsv: HAProxy 2.x columns in order, every one an identifier (zdd.py makes a namedtuple of them)', () => {
  const header = haproxyStatsCsv(input).split('\n')[0] ?? '';
  assert.equal(header, `# ${HAPROXY_COLUMNS.join(',')},`);
  assert.deepEqual(HAPROXY_COLUMNS.slice(0, 8), ['pxname', 'svname', 'qcur', 'qmax', 'scur', 'smax', 'slim', 'stot']);
  assert.equal(HAPROXY_COLUMNS.indexOf('status'), 17);
  assert.equal(HAPROXY_COLUMNS.indexOf('type'), 32);
  assert.equal(HAPROXY_COLUMNS.indexOf('rate'), 33);
  assert.equal(HAPROXY_COLUMNS.indexOf('hrsp_1xx'), 39);
  assert.equal(HAPROXY_COLUMNS.indexOf('req_rate'), 46);
  assert.equal(HAPROXY_COLUMNS.indexOf('addr'), 73);
  assert.equal(HAPROXY_COLUMNS.at(-1), 'agg_server_check_status');
  assert.equal(new Set(HAPROXY_COLUMNS).size, HAPROXY_COLUMNS.length);
  for (const name of HAPROXY_COLUMNS) assert.match(name, /^[a-z_][a-z0-9_]*$/);
});

test('haproxyStatsCsv: FRONTEND, servers, BACKEND per pool, in service-port order', () => {
  const order = [...parse(haproxyStatsCsv(input)).keys()];
  assert.deepEqual(order, [
    'web_10000/FRONTEND', 'web_10000/10_0_0_1_31000', 'web_10000/10_0_0_2_31001', 'web_10000/BACKEND',
    'db_10001/FRONTEND', 'db_10001/10_0_0_3_31002', 'db_10001/BACKEND',
    'empty_10002/FRONTEND', 'empty_10002/BACKEND',
  ]);
});

test('haproxyStatsCsv: each row carries the columns the tools read, with HAProxy\'s meaning', () => {
  const rows = parse(haproxyStatsCsv(input));
  const cases: [row: string, expected: Record<string, string>][] = [
    // autoscale reads a FRONTEND's rate + qcur; sessions, totals and HTTP answers as HAProxy counts them.
    ['web_10000/FRONTEND', { type: '0', status: 'OPEN', scur: '3', stot: '43', dreq: '2', rate: '7', rate_max: '12', req_rate: '7', req_rate_max: '12', req_tot: '40', hrsp_2xx: '30', hrsp_4xx: '5', hrsp_5xx: '3', mode: 'http', qcur: '' }],
    // A health-checked server in rotation is UP; one passive health ejected is DOWN.
    ['web_10000/10_0_0_1_31000', { type: '2', status: 'UP', scur: '2', stot: '25', lbtot: '25', qcur: '0', weight: '1', act: '1', bck: '0', sid: '1', addr: '10.0.0.1:31000' }],
    ['web_10000/10_0_0_2_31001', { type: '2', status: 'DOWN', scur: '1', stot: '15', sid: '2' }],
    ['web_10000/BACKEND', { type: '1', status: 'UP', scur: '3', stot: '40', lbtot: '40', econ: '3', qcur: '0', weight: '2', act: '2', rate: '7', hrsp_2xx: '30', req_tot: '40', algo: 'roundrobin' }],
    // No health check: HAProxy says `no check`; tcp rows leave the HTTP columns empty.
    ['db_10001/10_0_0_3_31002', { status: 'no check', scur: '4', stot: '9' }],
    ['db_10001/FRONTEND', { scur: '4', rate: '1', req_rate: '', hrsp_2xx: '', mode: 'tcp' }],
    ['db_10001/BACKEND', { status: 'UP', algo: 'leastconn', hrsp_2xx: '' }],
    // A pool with no serving instance (and no traffic yet).
    ['empty_10002/FRONTEND', { scur: '0', stot: '0', rate: '0' }],
    ['empty_10002/BACKEND', { status: 'DOWN', act: '0', weight: '0', stot: '0' }],
  ];
  for (const [key, expected] of cases) {
    const row = rows.get(key);
    assert.ok(row, key);
    for (const [column, value] of Object.entries(expected)) assert.equal(row[column], value, `${key} ${column}`);
  }
  // The frontend and the backend of one port share the name, as marathon-lb's do; a backend's servers its iid.
  assert.equal(rows.get('web_10000/10_0_0_1_31000')?.iid, rows.get('web_10000/BACKEND')?.iid);
  assert.notEqual(rows.get('web_10000/FRONTEND')?.iid, rows.get('web_10000/BACKEND')?.iid);
});

test('haproxyStatsCsv: a draining server is MAINT (zdd.py waits for it to reach scur 0)', () => {
  const colour = (started: string, colourName: string) => ({ HAPROXY_GROUP: 'g', HAPROXY_DEPLOYMENT_GROUP: 'shop', HAPROXY_DEPLOYMENT_COLOUR: colourName, HAPROXY_DEPLOYMENT_STARTED_AT: started, HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '1', HAPROXY_0_PORT: '10005' });
  const blueGreen = buildRoutingTable(view(
    [app('/shop-blue', colour('2024-01-01T00:00:00Z', 'blue'), [10005]), app('/shop-green', colour('2024-01-02T00:00:00Z', 'green'), [10006])],
    [task('/shop-blue', 1, [31010], { host: '10.0.0.5' }), task('/shop-green', 1, [31011], { host: '10.0.0.6' })],
  ), { groups: ['g'] });
  const rows = [...parse(haproxyStatsCsv({ table: blueGreen, backends: { '10.0.0.5:31010': { active: 1, ejected: false, total: 3 } }, pools: {} })).values()];
  assert.deepEqual(rows.map((r) => [r.svname, r.status, r.scur]), [['FRONTEND', 'OPEN', '1'], ['10_0_0_6_31011', 'no check', '0'], ['10_0_0_5_31010', 'MAINT', '1'], ['BACKEND', 'UP', '1']]);
});

test('per-second counter: the last whole second and the busiest one, by the clock given', () => {
  const counter = newSecondCounter();
  const steps: [what: 'count' | 'read', second: number, last?: number, busiest?: number][] = [
    ['read', 100, 0, 0],
    ['count', 100], ['count', 100], ['count', 100],
    ['read', 100, 0, 0],
    ['read', 101, 3, 3],
    ['count', 101],
    ['read', 101, 3, 3],
    ['read', 102, 1, 3],
    // A quiet second in between: nothing in the last one.
    ['read', 103, 0, 3],
    ['count', 105], ['count', 105], ['count', 105], ['count', 105],
    ['read', 105, 0, 3],
    ['read', 106, 4, 4],
    ['count', 106],
    ['read', 106, 4, 4],
  ];
  for (const [what, second, last, busiest] of steps) {
    if (what === 'count') countAt(counter, second);
    else assert.deepEqual([lastSecond(counter, second), busiestSecond(counter, second)], [last, busiest], `at ${second}`);
  }
});
