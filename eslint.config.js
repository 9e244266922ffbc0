import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
  {
    // DNS and LB know the cluster only through the event stream: they may run on other machines.
    files: ['src/dns/**', 'src/lb/**', 'src/events/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/scheduler/**', '**/agent/**'] }],
    },
  },
  {
    // Pure cores: no sockets, disks, clocks or processes.
    files: ['src/**/core/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: ['node:net', 'node:dgram', 'node:fs', 'node:fs/*', 'node:child_process', 'node:http', 'undici', 'fastify', 'pino'],
      }],
    },
  },
);
