import { Ajv, type ErrorObject } from 'ajv';
import type { ValidationDetail } from '../errors.ts';
import { LIMITS } from './app-limits.ts';

/**
 * Marathon's app definition as JSON Schema, with Marathon's defaults. Fields Corral does not
 * implement yet are accepted only with their empty default (so GET output can be PUT back) and
 * otherwise rejected with a clear message rather than silently ignored.
 */
const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
export const APP_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: { type: 'string', minLength: 1 },
    cmd: { type: 'string', minLength: 1 },
    args: { type: 'array', items: { type: 'string' }, minItems: 1 },
    instances: { type: 'integer', minimum: 0, maximum: LIMITS.instances, default: 1 },
    cpus: { type: 'number', minimum: 0, maximum: LIMITS.cpus, default: 1 },
    mem: { type: 'number', minimum: 0, maximum: LIMITS.mem, default: 128 },
    disk: { type: 'number', minimum: 0, maximum: LIMITS.disk, default: 0 },
    gpus: { type: 'integer', minimum: 0, maximum: 0, default: 0, description: 'GPUs are not supported' },
    portDefinitions: {
      type: 'array',
      maxItems: LIMITS.ports,
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          port: { type: 'integer', minimum: 0, maximum: 65535, default: 0 },
          protocol: { enum: ['tcp', 'udp', 'udp,tcp'], default: 'tcp' },
          name: { type: 'string', pattern: '^[a-z0-9-]+$' },
          labels: stringMap,
        },
      },
    },
    ports: { type: 'array', maxItems: LIMITS.ports, items: { type: 'integer', minimum: 0, maximum: 65535 } },
    requirePorts: { type: 'boolean', default: false },
    labels: { ...stringMap, default: {} },
    env: { ...stringMap, default: {} },
    acceptedResourceRoles: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    backoffSeconds: { type: 'number', minimum: 0, maximum: LIMITS.timerSeconds, default: 1 },
    backoffFactor: { type: 'number', minimum: 1, maximum: LIMITS.backoffFactor, default: 1.15 },
    maxLaunchDelaySeconds: { type: 'number', minimum: 0, maximum: LIMITS.timerSeconds, default: 300 },
    taskKillGracePeriodSeconds: { type: 'number', exclusiveMinimum: 0, maximum: LIMITS.timerSeconds },
    killSelection: { enum: ['YOUNGEST_FIRST', 'OLDEST_FIRST'], default: 'YOUNGEST_FIRST' },
    upgradeStrategy: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        minimumHealthCapacity: { type: 'number', minimum: 0, maximum: 1, default: 1 },
        maximumOverCapacity: { type: 'number', minimum: 0, maximum: 1, default: 1 },
      },
    },
    user: { type: 'string' },
    // COMPAT(marathon): accepted as Marathon writes it; resident instances always wait for their agent.
    residency: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: { relaunchEscalationTimeoutSeconds: { type: 'number', minimum: 0 }, taskLostBehavior: { enum: ['WAIT_FOREVER'] } },
    },
    // Corral's extensions (Marathon has neither): see docs/scheduler.md.
    deploymentTimeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: LIMITS.timerSeconds },
    rollbackOnDeploymentFailure: { type: 'boolean' },
    executor: { type: 'string', maxLength: 0 },
    // Checked in core/app-container.ts: an image on the host network, or the forms that mean "no container".
    container: { type: ['null', 'object'] },
    networks: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          // COMPAT(marathon): a network without a mode is a container network.
          mode: { enum: ['container', 'container/bridge', 'host'], default: 'container' },
          name: { type: 'string' },
          labels: stringMap,
        },
      },
    },
    // Marathon 1.4's USER network: `networkName` is read by core/app-networks.ts; the rest (groups, labels, discovery) is Mesos' own.
    ipAddress: { type: ['null', 'object'] },
    healthChecks: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['protocol'],
        properties: {
          protocol: { enum: ['HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP'] },
          path: { type: 'string', default: '/' },
          portIndex: { type: 'integer', minimum: 0 },
          port: { type: 'integer', minimum: 1, maximum: 65535 },
          command: { type: 'object', additionalProperties: false, required: ['value'], properties: { value: { type: 'string', minLength: 1 } } },
          gracePeriodSeconds: { type: 'number', minimum: 0, maximum: LIMITS.timerSeconds, default: 300 },
          intervalSeconds: { type: 'number', exclusiveMinimum: 0, maximum: LIMITS.timerSeconds, default: 60 },
          timeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: LIMITS.timerSeconds, default: 20 },
          maxConsecutiveFailures: { type: 'integer', minimum: 0, maximum: LIMITS.count, default: 3 },
          delaySeconds: { type: 'number', minimum: 0, maximum: LIMITS.timerSeconds, default: 15 },
          ignoreHttp1xx: { type: 'boolean', default: false },
        },
      },
    },
    readinessChecks: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, default: 'readinessCheck' },
          protocol: { enum: ['HTTP', 'HTTPS'], default: 'HTTP' },
          path: { type: 'string', pattern: '^/', default: '/' },
          portName: { type: 'string', minLength: 1, default: 'http-api' },
          intervalSeconds: { type: 'number', exclusiveMinimum: 0, maximum: LIMITS.timerSeconds, default: 30 },
          timeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: LIMITS.timerSeconds, default: 10 },
          httpStatusCodesForReady: { type: 'array', minItems: 1, default: [200], items: { type: 'integer', minimum: 100, maximum: 599 } },
          preserveLastResponse: { type: 'boolean', default: false },
        },
      },
    },
    // Operators and values are checked in core/constraints.ts, for Marathon's messages.
    constraints: { type: 'array', default: [], items: { type: 'array', items: { type: 'string' } } },
    dependencies: { type: 'array', default: [], items: { type: 'string', minLength: 1 } },
    fetch: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['uri'],
        properties: {
          uri: { type: 'string', minLength: 1 },
          extract: { type: 'boolean', default: true },
          executable: { type: 'boolean', default: false },
          cache: { type: 'boolean', default: false },
          destPath: { type: 'string', minLength: 1 },
        },
      },
    },
    uris: { type: 'array', items: { type: 'string', minLength: 1 } },
    unreachableStrategy: {
      default: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
      oneOf: [
        { const: 'disabled' },
        {
          type: 'object',
          additionalProperties: false,
          properties: {
            inactiveAfterSeconds: { type: 'number', minimum: 0, maximum: LIMITS.ageSeconds, default: 0 },
            expungeAfterSeconds: { type: 'number', minimum: 0, maximum: LIMITS.ageSeconds, default: 0 },
          },
        },
      ],
    },
    // Read-only fields of Marathon's GET output, accepted so an app can be PUT back as read.
    version: { type: 'string' },
    versionInfo: { type: 'object' },
  },
} as const;

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
const validate = ajv.compile(APP_SCHEMA);

/** Validates a posted app in place (applying defaults); returns Marathon-style details on failure. */
export function checkAppJson(body: unknown): ValidationDetail[] {
  if (validate(body)) return [];
  return toDetails(validate.errors ?? []);
}

function toDetails(errors: ErrorObject[]): ValidationDetail[] {
  const byPath = new Map<string, string[]>();
  for (const error of errors) {
    let path = error.instancePath || '/';
    let message: string;
    if (error.keyword === 'additionalProperties') {
      const field = String((error.params as { additionalProperty: string }).additionalProperty);
      path = `${error.instancePath}/${field}`;
      message = 'unknown field';
    } else if (error.keyword === 'maxItems' && error.params.limit === 0) {
      message = String(error.parentSchema?.description ?? 'must be empty');
    } else if (error.keyword === 'maximum' && error.parentSchema?.description) {
      message = String(error.parentSchema.description);
    } else {
      message = error.message ?? error.keyword;
    }
    const list = byPath.get(path) ?? [];
    if (!list.includes(message)) list.push(message);
    byPath.set(path, list);
  }
  return [...byPath].map(([path, messages]) => ({ path, errors: messages }));
}
