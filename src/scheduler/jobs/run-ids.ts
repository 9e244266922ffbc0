import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * COMPAT(metronome): a run id is its creation time to the second and five random characters
 * (`20261206153000abcde`), so that run ids sort by time and read as one.
 */
export function newRunId(): string {
  const time = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const suffix = [...randomBytes(5)].map((b) => ALPHABET[b % ALPHABET.length]).join('');
  return `${time}${suffix}`;
}
