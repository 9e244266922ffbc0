import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js)$/.test(entry.name) ? [path] : [];
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
