import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseHostPort, type HostPort } from './address.ts';
import { parseDuration } from './duration.ts';
import { settingOrigin, toFlagName, type Settings } from './settings.ts';

/**
 * The config kit: every part turns its layered settings (src/shared/settings.ts) into a frozen,
 * typed config with {@link parseConfig} and the field parsers below, and learns of every bad
 * value at once through one {@link ConfigError}.
 */

/** A setting as layered: flags may be booleans; files, `CORRAL_*` variables and value flags are strings. */
export type RawSetting = string | boolean | undefined;

/** Reads one setting, or throws an Error saying what was expected and what came (the flag is added by {@link parseConfig}). */
export type FieldParser<T> = (raw: RawSetting) => T;

/** A parser for the setting of the same name, or `[setting name, parser]`. */
export type Field<T> = FieldParser<T> | readonly [key: string, parser: FieldParser<T>];

export type ConfigSpec = Record<string, Field<unknown>>;

export type ParsedConfig<S extends ConfigSpec> = { readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never };

/** One bad setting: the flag, where the value came from when not a flag, and what is wrong. */
export interface ConfigProblem {
  readonly flag: string;
  /** `CORRAL_AGENT_TIMEOUT`, or `in /etc/corral.json`. */
  readonly source?: string;
  readonly message: string;
}

/** Bad start-up settings, all of them: `invalid settings: --listen: …; --agent-timeout (CORRAL_AGENT_TIMEOUT): …`. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG_INVALID';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(`invalid settings: ${problems.map(({ flag, source, message }) => `${flag}${source === undefined ? '' : ` (${source})`}: ${message}`).join('; ')}`);
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }
}

export interface ParseConfigOptions<S extends ConfigSpec> {
  /** What a setting missing from `settings` falls back to: the command's part of config/defaults.json. */
  readonly defaults?: Settings;
  /** Rules across settings, checked once every field parsed: `[setting name, what is wrong]`. */
  readonly check?: (config: ParsedConfig<S>) => readonly (readonly [key: string, message: string])[];
}

/** Parses every field of `spec`; returns the config deeply frozen, or throws one ConfigError listing every bad value. */
export function parseConfig<S extends ConfigSpec>(settings: Settings, spec: S, options: ParseConfigOptions<S> = {}): ParsedConfig<S> {
  const problems: ConfigProblem[] = [];
  const config: Record<string, unknown> = {};
  const problem = (key: string, message: string): void => {
    problems.push({ flag: toFlagName(key), ...sourceOf(settings, key), message });
  };
  for (const [name, field] of Object.entries(spec)) {
    const [key, parser] = typeof field === 'function' ? [name, field] : field;
    try {
      config[name] = parser(settings[key] ?? options.defaults?.[key]);
    } catch (err) {
      problem(key, (err as Error).message);
    }
  }
  if (problems.length === 0 && options.check !== undefined) {
    for (const [key, message] of options.check(config as ParsedConfig<S>)) problem(key, message);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config) as ParsedConfig<S>;
}

function sourceOf(settings: Settings, key: string): { source?: string } {
  const origin = settingOrigin(settings, key);
  if (origin?.kind === 'env') return { source: origin.name };
  if (origin?.kind === 'file') return { source: `in ${origin.path}` };
  return {};
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

// --- Field parsers ----------------------------------------------------------------------------

/** Any string, trimmed (empty allowed). */
export const text: FieldParser<string> = (raw) => {
  if (typeof raw === 'string') return raw.trim();
  throw new Error(raw === undefined ? 'expected a value' : `expected a value, got ${String(raw)}`);
};

/** The parser, or undefined when the setting is absent (for settings without a default). */
export function optional<T>(parser: FieldParser<T>): FieldParser<T | undefined> {
  return (raw) => (raw === undefined ? undefined : parser(raw));
}

/** A comma-separated list, items trimmed, empty items dropped; `at least one <what>` when `what` is given. */
export function list(what?: string): FieldParser<string[]> {
  return (raw) => {
    const items = text(raw).split(',').map((item) => item.trim()).filter((item) => item !== '');
    if (what !== undefined && items.length === 0) throw new Error(`expected at least one ${what}`);
    return items;
  };
}

/** A whole number from `min` to `max`. */
export function integer(min: number, max?: number): FieldParser<number> {
  return (raw) => {
    const value = text(raw);
    const number = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
    if (!(number >= min && number <= (max ?? Number.MAX_SAFE_INTEGER))) {
      throw new Error(`expected a whole number ${max === undefined ? `>= ${min}` : `from ${min} to ${max}`}, got '${value}'`);
    }
    return number;
  };
}

export const positiveInteger: FieldParser<number> = integer(1);

/** A TCP/UDP port; 0 asks the OS for a free one. */
export const port: FieldParser<number> = (raw) => {
  const value = text(raw);
  const number = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(number <= 65535)) throw new Error(`expected a port 0-65535 (0 = any free port), got '${value}'`);
  return number;
};

/** Milliseconds, from `15s`, `500ms`, `2m`, `7d`, `2w` or bare seconds (src/shared/duration.ts). */
export function duration(minMs = 0): FieldParser<number> {
  return (raw) => {
    const value = text(raw);
    const ms = parseDuration(value);
    if (ms < minMs) throw new Error(`expected at least ${minMs}ms, got '${value}'`);
    return ms;
  };
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, kib: 2 ** 10, m: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gib: 2 ** 30 };

/** Bytes, from `16384`, `512KiB`, `10MiB`, `1GiB` (K, M, G are binary too); at least `min`. */
export function byteSize(min = 0): FieldParser<number> {
  return (raw) => {
    const value = text(raw);
    const match = /^(\d{1,15})\s*([a-z]*)$/i.exec(value);
    const unit = BYTE_UNITS[match?.[2]?.toLowerCase() ?? 'none'];
    const bytes = match === null || unit === undefined ? NaN : Number(match[1]) * unit;
    if (!Number.isSafeInteger(bytes)) throw new Error(`expected a size in bytes like 16384 or 10MiB, got '${value}'`);
    if (bytes < min) throw new Error(`expected at least ${min} bytes, got '${value}'`);
    return bytes;
  };
}

/** `host:port` or `[v6]:port`. */
export const hostPort: FieldParser<HostPort> = (raw) => parseHostPort(text(raw));

/** An IPv4 or IPv6 address. */
export const ipAddress: FieldParser<string> = (raw) => {
  const value = text(raw);
  if (isIP(value) === 0) throw new Error(`expected an IP address, got '${value}'`);
  return value;
};

/** A path, made absolute against the working directory. */
export const absolutePath: FieldParser<string> = (raw) => {
  const value = text(raw);
  if (value === '') throw new Error('expected a path');
  return resolve(value);
};

/** One or more http(s) URLs, comma-separated, kept as origins (credentials in them never reach logs). */
export function originUrls(what: string, example: string): FieldParser<string[]> {
  return (raw) =>
    list(what)(raw).map((item) => {
      let url: URL;
      try {
        url = new URL(item);
      } catch {
        throw new Error(`'${item}' is not a URL (expected e.g. ${example})`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`'${item}' must be http:// or https://`);
      return url.origin;
    });
}

/** `--master`: one or more scheduler URLs, comma-separated. */
export const masterUrls: FieldParser<string[]> = originUrls('scheduler URL', 'http://127.0.0.1:8080');

const TRUE = new Set(['true', '1', 'yes']);
const FALSE = new Set(['false', '0', 'no', '']);

/** A boolean: a flag gives one; files and `CORRAL_*` variables spell it true/false (1/0, yes/no). */
export const flag: FieldParser<boolean> = (raw) => {
  if (typeof raw === 'boolean') return raw;
  const lowered = text(raw).toLowerCase();
  if (TRUE.has(lowered)) return true;
  if (FALSE.has(lowered)) return false;
  throw new Error(`expected true or false, got '${String(raw)}'`);
};

/** One of `values`. */
export function oneOf<const V extends string>(values: readonly V[]): FieldParser<V> {
  return (raw) => {
    const value = text(raw);
    if (!(values as readonly string[]).includes(value)) throw new Error(`expected one of ${values.join(', ')}, got '${value}'`);
    return value as V;
  };
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A pino level. */
export const logLevel = oneOf(LOG_LEVELS);
