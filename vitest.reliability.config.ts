import path from 'node:path';
import { defineConfig } from 'vitest/config';

/** `npm run test:reliability`: concurrency, faults, bad input and load against the built app. */
export default defineConfig({
  resolve: { alias: { '@': path.resolve(import.meta.dirname, 'src') } },
  test: {
    include: ['tests/reliability/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 180_000,
    globalSetup: ['tests/setup/global.ts'],
  },
});
