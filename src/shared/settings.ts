import { readFileSync } from 'node:fs';

export type Settings = Record<string, string | boolean>;

/** Where a setting's value came from, so that an error can point at the right place to fix it. */
export type SettingOrigin = { kind: 'default' } | { kind: 'file'; path: string } | { kind: 'env'; name: string } | { kind: 'flag' };

// Beside the settings rather than in them: the record stays plain (workers get it over IPC).
const origins = new WeakMap<Settings, Record<string, SettingOrigin>>();

const DEFAULTS = JSON.parse(readFileSync(new URL('../../config/defaults.json', import.meta.url), 'utf8')) as Record<string, Settings>;

/** The built-in defaults of `command` (its section of config/defaults.json); the only place they are written. */
export function commandDefaults(command: string): Settings {
  return { ...DEFAULTS[command] };
}

/**
 * Layers a command's settings: built-in defaults < `--config FILE` (JSON, optionally with one
 * section per command) < `CORRAL_<FLAG>` environment variables < command-line flags.
 */
export function layerSettings(
  command: string,
  defaults: Settings,
  flags: Settings,
  env: NodeJS.ProcessEnv,
  configFile: string | undefined,
): Settings {
  const fromFile = configFile === undefined ? {} : readConfigFile(configFile, command);
  const fromEnv: Settings = {};
  const origin: Record<string, SettingOrigin> = {};
  for (const key of Object.keys(defaults)) origin[key] = { kind: 'default' };
  for (const key of Object.keys(fromFile)) origin[key] = { kind: 'file', path: configFile ?? '' };
  for (const key of Object.keys(defaults)) {
    const name = `CORRAL_${toEnvName(key)}`;
    const value = env[name];
    if (value === undefined) continue;
    fromEnv[key] = value;
    origin[key] = { kind: 'env', name };
  }
  for (const key of Object.keys(flags)) origin[key] = { kind: 'flag' };
  const settings = { ...defaults, ...fromFile, ...fromEnv, ...flags };
  origins.set(settings, origin);
  return settings;
}

/** Where `key` of settings made by {@link layerSettings} came from; undefined for settings made otherwise. */
export function settingOrigin(settings: Settings, key: string): SettingOrigin | undefined {
  return origins.get(settings)?.[key];
}

/** `agentTimeout` → `AGENT_TIMEOUT`. */
export function toEnvName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

/** `agentTimeout` → `--agent-timeout`. */
export function toFlagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function readConfigFile(path: string, command: string): Settings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read --config ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`--config ${path} must hold a JSON object`);
  }
  const record = parsed as Record<string, unknown>;
  const section = record[command];
  const source = typeof section === 'object' && section !== null ? (section as Record<string, unknown>) : record;
  const settings: Settings = {};
  for (const [key, value] of Object.entries(source)) {
    if (typeof value === 'string' || typeof value === 'boolean') settings[key] = value;
    else if (typeof value === 'number') settings[key] = String(value);
  }
  return settings;
}
