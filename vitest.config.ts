import { defineConfig } from 'vitest/config';

/** Files that compare response times: they run on their own, after the rest, so another file's load is no noise. */
const TIMING = ['test/security/enumeration.test.ts'];

const common = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks',
} as const;

export default defineConfig({
  test: {
    // Once for the whole run (the projects below do not repeat it): builds dist/ and the database templates.
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default'],
    projects: [
      {
        test: {
          ...common,
          name: 'suite',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...TIMING],
          // On the embedded pass, two files at a time: Vitest's default on our 2-core machines is one (a core is
          // left to Vitest itself), but a file spends much of its time waiting on a process it started (the built
          // server, the CLI). And a worker keeps its loaded modules from one file to the next, since importing the
          // app afresh cost each file seconds; the files share no state but the databases and servers each makes.
          // The PostgreSQL pass stays one isolated file at a time: its fault and cluster files start servers,
          // databases and Redis on ports they pick, which more processes at once make likelier to be taken.
          ...(process.env.TEST_DATABASE_URL ? {} : { maxWorkers: 2, isolate: false }),
        },
      },
      {
        test: {
          ...common,
          name: 'timing',
          include: TIMING,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
