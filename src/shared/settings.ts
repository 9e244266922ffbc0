import { readFileSync } from 'node:fs';

export type Settings = Record<string, string | boolean>;

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
  for (const key of Object.keys(defaults)) {
    const value = env[`CORRAL_${toEnvName(key)}`];
    if (value !== undefined) fromEnv[key] = value;
  }
  return { ...defaults, ...fromFile, ...fromEnv, ...flags };
}

/** `agentTimeout` → `AGENT_TIMEOUT`. */
export function toEnvName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
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
