import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Which rooms each room may not import: dns and lb know the cluster only through the event stream
 * (they may run on other machines), scheduler and agent meet only through the agent protocol in
 * src/shared, events sits under every room and src/shared under everything. src/cli starts them
 * all, so it has no entry.
 */
const ROOMS = {
  shared: ['events', 'scheduler', 'agent', 'dns', 'lb', 'cli', 'auth'],
  events: ['scheduler', 'agent', 'dns', 'lb', 'cli', 'auth'],
  // auth decides for every server, so it knows none of them; their adapters import it.
  auth: ['scheduler', 'agent', 'dns', 'lb', 'cli'],
  dns: ['scheduler', 'agent', 'lb', 'cli'],
  lb: ['scheduler', 'agent', 'dns', 'cli'],
  scheduler: ['agent', 'dns', 'lb', 'cli'],
  agent: ['scheduler', 'dns', 'lb', 'cli'],
  // The web UI is a client of the public HTTP API, like any other: it imports no server code.
  ui: ['shared', 'events', 'auth', 'scheduler', 'agent', 'dns', 'lb', 'cli'],
};

/** Files that hold decisions only: no sockets, disks, processes, clocks, timers or chance. */
const PURE = [
  'src/**/core/**',
  // Contracts and parsers that every room imports, too few for a core/ folder of their own.
  'src/events/types.ts',
  'src/shared/address.ts',
  'src/shared/agent-protocol.ts',
  'src/shared/duration.ts',
  'src/shared/layered-map.ts',
  'src/shared/marathon-names.ts',
  'src/shared/task-states.ts',
];

const IO_MODULES = [
  'fs', 'fs/promises', 'net', 'dgram', 'dns', 'dns/promises', 'child_process', 'http', 'https', 'http2', 'tls',
  'os', 'worker_threads', 'cluster', 'process', 'readline', 'perf_hooks', 'timers', 'timers/promises', 'v8', 'inspector',
];
const IO_PACKAGES = ['undici', 'fastify', 'pino', 'prom-client', 'eventsource', 'fs-ext', 'tar', 'yauzl'];
const CHANCE = ['randomUUID', 'randomBytes', 'randomInt', 'randomFill', 'randomFillSync', 'getRandomValues', 'webcrypto'];

/** I/O modules, as paths for @typescript-eslint/no-restricted-imports (types alone do no I/O). */
const ioPaths = [
  ...IO_MODULES.flatMap((name) => [name, `node:${name}`]),
  ...IO_PACKAGES,
].map((name) => ({ name, allowTypeImports: true, message: 'Pure code does no I/O: take the data, or a port, as an argument.' }))
  .concat(['crypto', 'node:crypto'].map((name) => ({
    name, importNames: CHANCE, message: 'Pure code draws no random numbers: take ids or seeds as arguments (hashing is fine).',
  })));

/** Imports a room may not make, as patterns. */
const layerPatterns = (room) => [{
  group: ROOMS[room].map((other) => `**/${other}/**`),
  message: `src/${room} may not import ${ROOMS[room].join(', ')} (see eslint.config.js ROOMS).`,
}];

/**
 * Each file gets ONE no-restricted-imports entry holding every list that applies to it: a later
 * flat-config block replaces an earlier block's options for the same rule, it does not add to them.
 * So the blocks below never overlap: per room, its impure files, then its pure ones; last the pure
 * files outside any room.
 */
const RESTRICT = '@typescript-eslint/no-restricted-imports';
const importBlocks = [
  ...Object.keys(ROOMS).flatMap((room) => [
    { files: [`src/${room}/**`], ignores: PURE, rules: { [RESTRICT]: ['error', { patterns: layerPatterns(room) }] } },
    {
      files: PURE.map((glob) => [`src/${room}/**`, glob]),
      rules: { [RESTRICT]: ['error', { patterns: layerPatterns(room), paths: ioPaths }] },
    },
  ]),
  { files: PURE, ignores: Object.keys(ROOMS).map((room) => `src/${room}/**`), rules: { [RESTRICT]: ['error', { paths: ioPaths }] } },
];

const NOT_PURE = 'Pure code reads no clock, sets no timer and draws no random numbers: take the time, ids or a seed as arguments.';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...importBlocks,
  {
    files: PURE,
    rules: {
      'no-restricted-globals': ['error',
        ...['process', 'performance', 'crypto', 'fetch', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout',
          'clearInterval', 'clearImmediate', 'queueMicrotask'].map((name) => ({ name, message: NOT_PURE })),
      ],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: NOT_PURE },
        { object: 'Math', property: 'random', message: NOT_PURE },
        { object: 'globalThis', message: 'Pure code reaches no global state.' },
      ],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: NOT_PURE },
        { selector: "CallExpression[callee.name='Date']", message: NOT_PURE },
        // import() would slip past the import lists above.
        { selector: 'ImportExpression', message: 'Pure code loads no modules at run time: import them statically.' },
      ],
    },
  },
);
