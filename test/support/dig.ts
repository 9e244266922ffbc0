import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DigResult {
  status: string;
  flags: string[];
  answer: string[][];
  authority: string[][];
  additional: string[][];
}

/** Asks the real `dig` (bind9-dnsutils) and splits its sections into whitespace-separated records. */
export async function dig(server: string, name: string, type = 'A', extra: string[] = []): Promise<DigResult> {
  const [host = '', port = '53'] = server.split(':');
  const { stdout } = await run('dig', [`@${host}`, '-p', port, name, type, '+tries=1', '+time=2', ...extra]);
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? 'NONE';
  const flags = (/flags: ([\w ]+);/.exec(stdout)?.[1] ?? '').split(' ').filter(Boolean);
  const section = (title: string): string[][] => {
    const match = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(stdout);
    return (match?.[1] ?? '').split('\n').filter((l) => l && !l.startsWith(';')).map((l) => l.split(/\s+/));
  };
  return { status, flags, answer: section('ANSWER'), authority: section('AUTHORITY'), additional: section('ADDITIONAL') };
}
