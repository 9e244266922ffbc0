import { createHash } from 'node:crypto';
import { marathonTaskName } from '../../shared/marathon-names.ts';

/**
 * Mesos-DNS naming rules, reproduced so that names users already depend on keep resolving.
 * Every function here is pure; the cases they must satisfy live in
 * shared/fixtures/mesos-dns-names.json.
 */

/** RFC 1035 limit on one label. */
export const MAX_LABEL_LENGTH = 63;

/** RFC 952 hostnames, as Mesos-DNS' `--enforce-rfc952` cut them. */
const RFC952_MAX_LENGTH = 24;

const ZBASE32_ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';

/** Length of the task-id hash inside canonical names. */
const TASK_HASH_LENGTH = 5;

export interface SanitizeOptions {
  /** Drop leading digits and cut to 24 characters (RFC 952 hostnames). */
  rfc952?: boolean;
}

/**
 * Turns arbitrary text into ONE DNS label: lower-case; `-`, `.` and `_` become `-`; every other
 * character outside `[a-z0-9]` is dropped; leading `-` trimmed; cut to 63 characters (24 with
 * RFC 952, which also forbids a leading digit); trailing `-` trimmed. May return ''.
 */
export function sanitizeLabel(text: string, options: SanitizeOptions = {}): string {
  let label = '';
  for (const char of text.toLowerCase()) {
    if ((char >= 'a' && char <= 'z') || (char >= '0' && char <= '9')) label += char;
    else if (char === '-' || char === '.' || char === '_') label += '-';
    // COMPAT(mesos-dns): anything else (spaces, '$', non-ASCII letters) is dropped, not replaced.
  }
  label = options.rfc952 === true ? label.replace(/^[^a-z]+/, '') : label.replace(/^-+/, '');
  label = label.slice(0, options.rfc952 === true ? RFC952_MAX_LENGTH : MAX_LABEL_LENGTH);
  return label.replace(/-+$/, '');
}


/** The task label `T` of an app: its Marathon task name sanitized into one label. */
export function taskLabel(appId: string, options: SanitizeOptions = {}): string {
  return sanitizeLabel(marathonTaskName(appId), options);
}

/**
 * The first 5 characters of the z-base-32 encoding of SHA-1(task id): short, stable, and
 * (in practice) unique among an app's instances. 5 characters use only the first 25 bits.
 */
export function taskIdHash(taskId: string): string {
  const digest = createHash('sha1').update(taskId, 'utf8').digest();
  let out = '';
  let buffered = 0;
  let bits = 0;
  for (const byte of digest) {
    buffered = ((buffered << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5 && out.length < TASK_HASH_LENGTH) {
      out += ZBASE32_ALPHABET[(buffered >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length === TASK_HASH_LENGTH) break;
  }
  return out;
}

/** The last `-`-separated field of an agent id, lower-cased (`…-S3` → `s3`). */
export function agentSuffix(agentId: string): string {
  const fields = agentId.split('-');
  return (fields[fields.length - 1] ?? '').toLowerCase();
}

/**
 * The canonical label `C` = `T-H-S` naming one instance. Mesos-DNS let this exceed 63
 * characters, which no resolver can send; we shorten `T` so the label stays valid.
 */
export function canonicalLabel(label: string, taskId: string, agentId: string): string {
  const tail = `-${taskIdHash(taskId)}-${sanitizeLabel(agentSuffix(agentId))}`.replace(/-$/, '');
  const head = label.slice(0, Math.max(0, MAX_LABEL_LENGTH - tail.length)).replace(/-+$/, '');
  return `${head}${tail}`.replace(/^-+/, '');
}

/**
 * Mesos-DNS' domain fragment: every `.`-separated label sanitized on its own, empty ones dropped
 * (`My_App.v2` → `my-app.v2`). May return ''.
 */
export function domainFragment(text: string, options: SanitizeOptions = {}): string {
  return text
    .split('.')
    .map((label) => sanitizeLabel(label, options))
    .filter((label) => label !== '')
    .join('.');
}

/**
 * The names an app's instances are published under: the one-label task label `T`, and
 * Mesos-DNS' second form from the task's discovery name (Marathon's task name as a domain
 * fragment: `/team/web` → `web.team`) when it differs. Empty forms are left out.
 */
export function taskNames(appId: string, options: SanitizeOptions = {}): string[] {
  const label = taskLabel(appId, options);
  // COMPAT(mesos-dns): it publishes every task twice when the task has a discovery name (Marathon
  // always sets one); users migrating from DC/OS have `web.team.marathon.mesos` in their configs.
  const fragment = domainFragment(marathonTaskName(appId), options);
  return [...new Set([label, fragment])].filter((name) => name !== '');
}

/** The canonical name of one instance under a task name: `T-H-S`, the tail on the last label. */
export function canonicalName(name: string, taskId: string, agentId: string): string {
  const dot = name.lastIndexOf('.');
  return `${name.slice(0, dot + 1)}${canonicalLabel(name.slice(dot + 1), taskId, agentId)}`;
}
