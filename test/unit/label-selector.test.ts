import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchesAppSearch, matchesLabels, parseLabelSelectors, type LabelSelector } from '../../src/scheduler/core/label-selector.ts';
import { app } from '../support/scheduler-fixtures.ts';

const parsed = (text: string): LabelSelector[] => {
  const result = parseLabelSelectors(text);
  if (!result.ok) throw new Error(result.error);
  return result.selectors;
};

test('label selectors: parse (Marathon grammar and its examples)', async (t) => {
  const cases: Array<[string, LabelSelector[]]> = [
    ['', []],
    ['partition', [{ key: 'partition', op: 'exists', values: [] }]],
    ['test == foo', [{ key: 'test', op: '==', values: ['foo'] }]],
    ['test!=foo', [{ key: 'test', op: '!=', values: ['foo'] }]],
    ['environment in (production, qa)', [{ key: 'environment', op: 'in', values: ['production', 'qa'] }]],
    ['tier notin (frontend, backend)', [{ key: 'tier', op: 'notin', values: ['frontend', 'backend'] }]],
    ['tier in()', [{ key: 'tier', op: 'in', values: [] }]],
    ['\\!\\!\\! in (\\-\\-\\-, \\&\\&\\&, \\+\\+\\+)', [{ key: '!!!', op: 'in', values: ['---', '&&&', '+++'] }]],
    ['a in (t1, t2, t3), b notin (t1), c, d', [
      { key: 'a', op: 'in', values: ['t1', 't2', 't3'] },
      { key: 'b', op: 'notin', values: ['t1'] },
      { key: 'c', op: 'exists', values: [] },
      { key: 'd', op: 'exists', values: [] },
    ]],
    // Corral takes Kubernetes' label characters unescaped.
    ['HAPROXY_GROUP==external', [{ key: 'HAPROXY_GROUP', op: '==', values: ['external'] }]],
    ['app.kubernetes.io/name == web-1', [{ key: 'app.kubernetes.io/name', op: '==', values: ['web-1'] }]],
    ['a\\ b == c\\,d', [{ key: 'a b', op: '==', values: ['c,d'] }]],
    // A key that starts like an operator word is a key.
    ['index, notinx', [{ key: 'index', op: 'exists', values: [] }, { key: 'notinx', op: 'exists', values: [] }]],
  ];
  for (const [text, expected] of cases) {
    await t.test(JSON.stringify(text), () => assert.deepEqual(parsed(text), expected));
  }
});

test('label selectors: errors say what was expected where', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['a ==', /expected a value after '==' at position 4 \(end of input\)/],
    ['a in b', /expected '\(' after 'in' at position 5 \('b'\)/],
    ['a in (b', /expected ',' or '\)' in the set at position 7/],
    ['a in (b,)', /expected a value in the set at position 8/],
    ['a = b', /expected ',', '==', '!=', 'in' or 'notin' at position 2/],
    ['a,', /expected a label key at position 2/],
    [',a', /expected a label key at position 0/],
    ['a b', /expected ',', '==', '!=', 'in' or 'notin' at position 2/],
    ['a\\', /expected a label key/],
  ];
  for (const [text, message] of cases) {
    await t.test(JSON.stringify(text), () => {
      const result = parseLabelSelectors(text);
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.error, message);
      assert.match(result.ok ? '' : result.error, /^Can not parse label selector '/);
    });
  }
});

test('label selectors: match (every clause needs the label, as in Marathon)', async (t) => {
  const labels = { env: 'prod', tier: 'web', 'a b': 'c,d' };
  const cases: Array<[string, boolean]> = [
    ['', true],
    ['env', true],
    ['missing', false],
    ['env==prod', true],
    ['env==qa', false],
    ['env!=qa', true],
    ['env!=prod', false],
    ['missing!=prod', false],
    ['env in (qa, prod)', true],
    ['env in (qa)', false],
    ['env notin (qa)', true],
    ['missing notin (qa)', false],
    ['env==prod, tier==web', true],
    ['env==prod, tier==db', false],
    ['a\\ b==c\\,d', true],
  ];
  for (const [text, expected] of cases) {
    await t.test(JSON.stringify(text), () => assert.equal(matchesLabels(parsed(text), labels), expected));
  }
});

test('app search: id and cmd are case-insensitive substrings, all filters must match', () => {
  const web = app({ id: '/shop/Web'.toLowerCase(), cmd: 'python3 -m http.server', labels: { env: 'prod' } });
  const argsApp = app({ id: '/worker', cmd: undefined, args: ['sleep', '10'] });
  assert.equal(matchesAppSearch(web, {}), true);
  assert.equal(matchesAppSearch(web, { id: 'SHOP' }), true);
  assert.equal(matchesAppSearch(web, { id: 'cart' }), false);
  assert.equal(matchesAppSearch(web, { cmd: 'HTTP.server' }), true);
  assert.equal(matchesAppSearch(argsApp, { cmd: 'sleep' }), false, 'an app without cmd never matches a cmd filter');
  assert.equal(matchesAppSearch(web, { id: 'shop', cmd: 'python', selectors: parsed('env==prod') }), true);
  assert.equal(matchesAppSearch(web, { id: 'shop', cmd: 'python', selectors: parsed('env==qa') }), false);
});
