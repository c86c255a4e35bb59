import { describe, expect, it } from 'vitest';
import { assertTestDatabaseUrl } from './helpers/test-database.js';

describe('the test suite', () => {
  it('refuses a TEST_DATABASE_URL whose database name does not say it is for tests', () => {
    expect(() => assertTestDatabaseUrl('postgres://postgres@127.0.0.1:5432/energyexe')).toThrow(
      'TEST_DATABASE_URL must name a database whose name contains "test" (got "energyexe")',
    );
    expect(assertTestDatabaseUrl('postgres://postgres@127.0.0.1:5432/app_test').pathname).toBe('/app_test');
  });
});
