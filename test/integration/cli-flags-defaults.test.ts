import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

/**
 * Every setting config/defaults.json knows for a part can be given on its command line: a setting
 * only reachable through the config file is one an operator cannot find in `--help`.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const defaults = JSON.parse(readFileSync(join(ROOT, 'config', 'defaults.json'), 'utf8')) as Record<string, Record<string, unknown>>;
/** The client settings belong to every client command: `app list` stands for them. */
const HELP: Record<string, string[]> = { client: ['app', 'list', '--help'] };
const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

for (const [part, settings] of Object.entries(defaults)) {
  test(`corral ${(HELP[part] ?? [part]).slice(0, 2).join(' ')} --help offers a flag for every setting of config/defaults.json`, () => {
    const help = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...(HELP[part] ?? [part, '--help'])], { cwd: ROOT, encoding: 'utf8' });
    const missing = Object.keys(settings).filter((key) => !new RegExp(`--(no-)?${kebab(key)}\\b`).test(help));
    assert.deepEqual(missing, [], `corral ${part} has no flag for these settings`);
  });
}
