import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig, settings } from '../src/config/config.js';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const keys = Object.keys(settings);

describe('the documentation of the settings', () => {
  it('lists every setting in the README configuration table', () => {
    const readme = read('README.md');
    const missing = keys.filter((key) => !new RegExp(`^\\|\\s*\`${key}\`\\s*\\|`, 'm').test(readme));
    expect(missing).toEqual([]);
  });

  it('lists every setting in .env.example, and that file as it is starts the service with its defaults', () => {
    const example = read('.env.example');
    const missing = keys.filter((key) => !new RegExp(`^# ${key}=`, 'm').test(example));
    expect(missing).toEqual([]);
    const dataDir = mkdtempSync(join(tmpdir(), 'energyexe-env-'));
    const config = loadConfig({ ...(parseEnv(example) as Record<string, string>), DATA_DIR: dataDir });
    expect(config).toMatchObject({ port: 8000, databaseUrl: undefined, environment: 'development' });
  });
});
