import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;

function sourceFiles(dir: string, names = /\.(ts|js)$/): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path, names);
    return names.test(entry.name) ? [path] : [];
  });
}

test('tests, benches and sources name no relative path outside the repository (a bare clone passes)', () => {
  const outside: string[] = [];
  for (const path of [...sourceFiles('test'), ...sourceFiles('bench'), ...sourceFiles('src')]) {
    for (const [, target] of readFileSync(join(ROOT, path), 'utf8').matchAll(/['"`]((?:\.\.\/)+[^'"`\s]*\.[a-z]+)['"`]/g)) {
      const resolved = resolve(ROOT, dirname(path), target!);
      if (relative(ROOT, resolved).startsWith('..')) outside.push(`${path}: ${target}`);
    }
  }
  assert.deepEqual(outside, []);
});

test('no source or document names a path of the machine it was written on', () => {
  const files = [...sourceFiles('src', /\.(ts|js|md)$/), ...sourceFiles('test'), ...sourceFiles('bench'), ...sourceFiles('docs', /\.md$/), 'README.md'];
  const found = files.flatMap((path) => readFileSync(join(ROOT, path), 'utf8').split('\n')
    .flatMap((line, i) => (/(?<![\w.])\/(?:work|home|Users|root)\/\w/.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : [])));
  assert.deepEqual(found, []);
});

test('code comments state no measured rates or latencies (they go stale: docs/ keeps them)', () => {
  const figure = /\d[\d,.]*\s*k?\s*[A-Za-z]*\/s\b|\bp(?:50|90|99)\b|\d\s*µs|\d[\d,.]*k? [a-z]+ (?:a|per) second/;
  const found = sourceFiles('src').flatMap((path) => readFileSync(join(ROOT, path), 'utf8').split('\n')
    .flatMap((line, i) => (/^\s*(?:\/\/|\*|\/\*)/.test(line) && figure.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : [])));
  assert.deepEqual(found, []);
});
