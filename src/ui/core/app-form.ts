/**
 * The app form (Create, and Edit's "Form"): the common fields of an app definition as text
 * inputs, and back. Editing keeps what the form does not show: the definition is the base, and
 * only the form's fields are replaced (a health check's timeouts, a port's labels, other checks,
 * the container's other settings stay as they were).
 */
export interface AppForm {
  id: string;
  cmd: string;
  /** `args`, one a line (instead of `cmd`). */
  args: string;
  instances: string;
  cpus: string;
  mem: string;
  disk: string;
  /** `container.docker.image`; empty: no container. */
  image: string;
  /** `portDefinitions`, one a line: `<port> [name|-] [protocol]` (port 0: one is picked). */
  ports: string;
  /** The first health check: `HTTP` with a path, `TCP`, or `none`. */
  healthProtocol: 'HTTP' | 'TCP' | 'none';
  healthPath: string;
  healthInterval: string;
  healthGrace: string;
  /** `KEY=value`, one a line. */
  env: string;
  labels: string;
  /** Marathon's constraints, one a line: `field:OPERATOR[:value]` (`hostname:UNIQUE`). */
  constraints: string;
}

export const NEW_APP_FORM: AppForm = {
  id: '', cmd: '', args: '', instances: '1', cpus: '0.1', mem: '64', disk: '', image: '', ports: '0 http',
  healthProtocol: 'HTTP', healthPath: '', healthInterval: '2', healthGrace: '30', env: '', labels: '', constraints: '',
};

/** The form's fields by the API path a 422 names them with (a detail below one, `/env/X`, is its). */
export const FORM_PATHS: Readonly<Record<keyof AppForm, string>> = {
  id: '/id', cmd: '/cmd', args: '/args', instances: '/instances', cpus: '/cpus', mem: '/mem', disk: '/disk', image: '/container',
  ports: '/portDefinitions', healthProtocol: '/healthChecks', healthPath: '/healthChecks/0/path', healthInterval: '/healthChecks/0/intervalSeconds',
  healthGrace: '/healthChecks/0/gracePeriodSeconds', env: '/env', labels: '/labels', constraints: '/constraints',
};

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

/** A number as typed: the API says what is wrong with it (`-1`, `abc` sent as text), not the form. */
export const numberOr = (value: string): number | string => (value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value);

const lines = (value: string): string[] => value.split('\n').map((line) => line.trim()).filter((line) => line !== '');

/** `KEY=value` lines → an object (a line without `=` is a key with an empty value). */
export function parsePairs(value: string): Record<string, string> {
  return Object.fromEntries(lines(value).map((line) => {
    const eq = line.indexOf('=');
    return eq < 0 ? [line, ''] : [line.slice(0, eq).trim(), line.slice(eq + 1).trim()];
  }));
}

const pairsText = (value: unknown): string => (isObject(value) ? Object.entries(value).map(([k, v]) => `${k}=${text(v)}`).join('\n') : '');

/** The form showing a definition (a GET's, or the JSON editor's). */
export function formOf(definition: Json): AppForm {
  const container = isObject(definition.container) ? definition.container : {};
  const docker = isObject(container.docker) ? container.docker : {};
  const ports = Array.isArray(definition.portDefinitions) ? definition.portDefinitions.filter(isObject) : [];
  const check = Array.isArray(definition.healthChecks) && isObject(definition.healthChecks[0]) ? definition.healthChecks[0] : undefined;
  const protocol = check === undefined ? 'none' : check.protocol === 'TCP' || check.protocol === 'MESOS_TCP' ? 'TCP' : 'HTTP';
  return {
    id: text(definition.id),
    cmd: text(definition.cmd),
    args: Array.isArray(definition.args) ? definition.args.map(text).join('\n') : '',
    instances: text(definition.instances ?? 1),
    cpus: text(definition.cpus ?? ''),
    mem: text(definition.mem ?? ''),
    disk: definition.disk === undefined || definition.disk === 0 ? '' : text(definition.disk),
    image: text(docker.image),
    // `-`: no name, when a protocol follows.
    ports: ports.map((p) => [text(p.port ?? 0), p.name === undefined ? (p.protocol === undefined ? '' : '-') : text(p.name), text(p.protocol)].join(' ').trim()).join('\n'),
    healthProtocol: protocol,
    healthPath: check === undefined ? '' : text(check.path ?? '/'),
    healthInterval: check === undefined ? NEW_APP_FORM.healthInterval : text(check.intervalSeconds ?? 60),
    healthGrace: check === undefined ? NEW_APP_FORM.healthGrace : text(check.gracePeriodSeconds ?? 300),
    env: pairsText(definition.env),
    labels: pairsText(definition.labels),
    constraints: Array.isArray(definition.constraints) ? definition.constraints.map((c) => (Array.isArray(c) ? c.map(text).join(':') : text(c))).join('\n') : '',
  };
}

/** Sets `key` to `value`, or removes it when undefined (the API's default applies). */
function put(target: Json, key: string, value: unknown): void {
  if (value === undefined) delete target[key];
  else target[key] = value;
}

/** The definition the form stands for, over `base` (POST /v2/apps, or PUT …?partialUpdate=false). */
export function definitionOf(form: AppForm, base: Json = {}): Json {
  const out: Json = { ...base, id: form.id.trim() };
  put(out, 'cmd', form.cmd.trim() === '' ? undefined : form.cmd);
  const args = lines(form.args);
  put(out, 'args', args.length === 0 ? undefined : args);
  out.instances = numberOr(form.instances);
  out.cpus = numberOr(form.cpus);
  out.mem = numberOr(form.mem);
  put(out, 'disk', form.disk.trim() === '' ? undefined : numberOr(form.disk));

  const container = isObject(base.container) ? base.container : undefined;
  if (form.image.trim() !== '') {
    const docker = container !== undefined && isObject(container.docker) ? container.docker : {};
    out.container = { ...container, type: container?.type ?? 'DOCKER', docker: { ...docker, image: form.image.trim() } };
  } else if (container !== undefined && container.docker !== undefined) delete out.container;

  const basePorts = Array.isArray(base.portDefinitions) ? base.portDefinitions : [];
  out.portDefinitions = lines(form.ports).map((line, index) => {
    const [port = '0', name, protocol] = line.split(/\s+/);
    const before = isObject(basePorts[index]) ? basePorts[index] : {};
    const definition: Json = { ...before, port: numberOr(port) };
    put(definition, 'name', name === undefined || name === '' || name === '-' ? undefined : name);
    put(definition, 'protocol', protocol);
    return definition;
  });
  delete out.ports;

  const baseChecks = Array.isArray(base.healthChecks) ? base.healthChecks : [];
  const firstBefore = isObject(baseChecks[0]) ? baseChecks[0] : {};
  const wanted = form.healthProtocol === 'TCP' || (form.healthProtocol === 'HTTP' && form.healthPath.trim() !== '');
  const first: Json | undefined = !wanted ? undefined : {
    ...firstBefore,
    protocol: form.healthProtocol === 'HTTP' && typeof firstBefore.protocol === 'string' && firstBefore.protocol.includes('HTTP') ? firstBefore.protocol : form.healthProtocol,
    ...(form.healthProtocol === 'HTTP' ? { path: form.healthPath.trim() } : {}),
    portIndex: firstBefore.portIndex ?? 0,
    intervalSeconds: numberOr(form.healthInterval),
    gracePeriodSeconds: numberOr(form.healthGrace),
  };
  if (first !== undefined && form.healthProtocol === 'TCP') delete first.path;
  const checks = [...(first === undefined ? [] : [first]), ...baseChecks.slice(1)];
  put(out, 'healthChecks', checks.length === 0 && baseChecks.length === 0 ? undefined : checks);

  const env = parsePairs(form.env);
  put(out, 'env', Object.keys(env).length === 0 && base.env === undefined ? undefined : env);
  const labels = parsePairs(form.labels);
  put(out, 'labels', Object.keys(labels).length === 0 && base.labels === undefined ? undefined : labels);
  // A value may hold colons (a LIKE pattern): the first two split off the field and the operator.
  const constraints = lines(form.constraints).map((line) => {
    const [field = '', operator, ...value] = line.split(':');
    return [field, ...(operator === undefined ? [] : [operator]), ...(value.length === 0 ? [] : [value.join(':')])];
  });
  put(out, 'constraints', constraints.length === 0 && base.constraints === undefined ? undefined : constraints);
  return out;
}
