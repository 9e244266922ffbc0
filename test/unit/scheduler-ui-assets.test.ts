import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uiAsset, wantsHtml } from '../../src/scheduler/core/ui-assets.ts';

test('uiAsset: the index and hashed assets, nothing else (table-driven)', () => {
  const cases: Array<[string, string | undefined, string | undefined]> = [
    ['', 'index.html', 'no-cache'],
    ['index.html', 'index.html', 'no-cache'],
    ['assets/index-XhPPNwpH.js', 'assets/index-XhPPNwpH.js', 'public, max-age=31536000, immutable'],
    ['assets/index-B0oK6oL3.css', 'assets/index-B0oK6oL3.css', 'public, max-age=31536000, immutable'],
    ['assets/../../../etc/passwd', undefined, undefined],
    ['assets/..%2f..%2fpasswd.js', undefined, undefined],
    ['assets/.hidden.js', undefined, undefined],
    ['assets/sub/x.js', undefined, undefined],
    ['assets/x.exe', undefined, undefined],
    ['other.html', undefined, undefined],
    ['/etc/passwd', undefined, undefined],
  ];
  for (const [rest, file, cache] of cases) {
    const asset = uiAsset(rest);
    assert.deepEqual([asset?.file, asset?.cacheControl], [file, cache], rest);
  }
  assert.equal(uiAsset('assets/a.js')?.type, 'text/javascript; charset=utf-8');
});

test('wantsHtml: browsers are sent to the UI, API clients are not (table-driven)', () => {
  const cases: Array<[string | undefined, boolean]> = [
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', true],
    ['TEXT/HTML', true],
    ['application/json', false],
    ['*/*', false],
    [undefined, false],
  ];
  for (const [accept, expected] of cases) assert.equal(wantsHtml(accept), expected, String(accept));
});
