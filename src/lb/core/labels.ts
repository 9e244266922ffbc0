/**
 * marathon-lb's per-app labels, parsed into plain data. Only the skeleton's subset is read here
 * (GROUP, ENABLED, VHOST, PATH, MODE, PORT); later labels add fields, not new shapes.
 */

export type PortMode = 'tcp' | 'http';

/** What the labels say about one app port `n`; `problems` non-empty means the route is rejected. */
export interface PortLabels {
  /** `HAPROXY_{n}_GROUP`, else `HAPROXY_GROUP`; empty when neither is set. */
  readonly groups: readonly string[];
  readonly enabled: boolean;
  /** Lower-cased host names from `HAPROXY_{n}_VHOST`. */
  readonly vhosts: readonly string[];
  /** Path prefixes from `HAPROXY_{n}_PATH`; empty = any path. */
  readonly paths: readonly string[];
  /** `-i` in `HAPROXY_{n}_PATH`: compare paths case-insensitively. */
  readonly pathIgnoreCase: boolean;
  /** Explicit `HAPROXY_{n}_MODE`; undefined = derive it (see routing-table). */
  readonly mode: PortMode | undefined;
  /** `HAPROXY_{n}_PORT`: overrides the service port the listener binds. */
  readonly bindPort: number | undefined;
  readonly problems: readonly string[];
}

export function portLabel(index: number, name: string): string {
  return `HAPROXY_${index}_${name}`;
}

/** Parses the labels that concern app port `index`. Never throws: bad values become problems. */
export function parsePortLabels(labels: Readonly<Record<string, string>>, index: number): PortLabels {
  const problems: string[] = [];
  const get = (name: string): string | undefined => labels[portLabel(index, name)];

  // COMPAT(marathon-lb): the more specific HAPROXY_{n}_GROUP replaces HAPROXY_GROUP, it does not add to it.
  const groupText = get('GROUP') ?? labels.HAPROXY_GROUP;
  const enabledText = get('ENABLED');
  const path = parsePaths(get('PATH'));
  problems.push(...path.problems);

  const modeText = get('MODE');
  let mode: PortMode | undefined;
  if (modeText !== undefined) {
    const lowered = modeText.trim().toLowerCase();
    if (lowered === 'tcp' || lowered === 'http') mode = lowered;
    else problems.push(`${portLabel(index, 'MODE')} must be tcp or http, got '${modeText}'`);
  }

  const portText = get('PORT');
  let bindPort: number | undefined;
  if (portText !== undefined) {
    bindPort = parsePort(portText);
    if (bindPort === undefined) problems.push(`${portLabel(index, 'PORT')} must be a port 1-65535, got '${portText}'`);
  }

  return {
    groups: splitList(groupText),
    // COMPAT(marathon-lb): without --strict-mode a port is exposed unless ENABLED parses as false.
    enabled: enabledText === undefined ? true : parseLabelBool(enabledText),
    vhosts: splitList(get('VHOST')).map((host) => host.toLowerCase()),
    paths: path.paths,
    pathIgnoreCase: path.ignoreCase,
    mode,
    bindPort,
    problems,
  };
}

/** True when the LB serving `lbGroups` should expose a port labelled with `portGroups`. */
export function matchesGroups(lbGroups: readonly string[], portGroups: readonly string[]): boolean {
  // COMPAT(marathon-lb): `*` is a wildcard only on the LB's side; an app labelled `*` is in a group named `*`.
  if (lbGroups.includes('*')) return true;
  return portGroups.some((group) => lbGroups.includes(group));
}

/** COMPAT(marathon-lb): its string_to_bool accepts true/t/yes/y (any case); everything else is false. */
export function parseLabelBool(text: string): boolean {
  return ['true', 't', 'yes', 'y'].includes(text.trim().toLowerCase());
}

/** Comma list, trimmed, empties dropped (marathon-lb does not trim; a stray space never matched anything useful). */
export function splitList(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
}

interface ParsedPaths {
  paths: string[];
  ignoreCase: boolean;
  problems: string[];
}

/** COMPAT(marathon-lb): HAPROXY_{n}_PATH is HAProxy `path_beg` syntax: space-separated prefixes, optional `-i` flag. */
function parsePaths(text: string | undefined): ParsedPaths {
  const result: ParsedPaths = { paths: [], ignoreCase: false, problems: [] };
  if (text === undefined) return result;
  for (const token of text.split(/\s+/).filter((t) => t.length > 0)) {
    if (token === '-i') result.ignoreCase = true;
    else if (token.startsWith('/')) result.paths.push(token);
    else result.problems.push(`path '${token}' must start with / (only the -i flag is supported)`);
  }
  return result;
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text.trim())) return undefined;
  const port = Number(text.trim());
  return port >= 1 && port <= 65535 ? port : undefined;
}
