import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig, settings } from '../src/config/config.js';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Documented {
  default: unknown;
  defaultLabel?: string;
  description: string;
}

const entries = Object.entries(settings as Record<string, Documented>);

/** The default as the docs show it: its label when it has one, else the value itself. */
function defaultText(setting: Documented): string {
  if (setting.defaultLabel !== undefined) return setting.defaultLabel;
  return Array.isArray(setting.default) ? setting.default.join(',') : String(setting.default);
}

/** The configuration table's row of a setting, as the README writes it. */
function readmeRow(key: string, setting: Documented): string {
  const shown = defaultText(setting);
  return `| \`${key}\` | ${shown.startsWith('(') ? shown : `\`${shown}\``} | ${setting.description} |`;
}

/** A setting's block in .env.example: its meaning, its default, an optional example, then the variable. */
function envExampleBlock(key: string, setting: Documented): RegExp {
  return new RegExp(
    `^# ${escapeRegExp(setting.description)}\\n# Default: ${escapeRegExp(defaultText(setting))}\\n(?:# Example: .*\\n)?# ${key}=`,
    'm',
  );
}

/** The UPPER_CASE names that `pattern` (one capture group) finds in a document. */
const documentedKeys = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].map((match) => match[1] ?? '');

describe('the README configuration table', () => {
  const readme = read('README.md');
  const lines = new Set(readme.split('\n'));

  it('has a row for every setting, with its default and meaning as src/config/config.ts states them', () => {
    const wrong = entries.map(([key, setting]) => readmeRow(key, setting)).filter((row) => !lines.has(row));
    // A failure lists the rows the table should contain, ready to paste.
    expect(wrong).toEqual([]);
  });

  it('lists no variable that is not a setting', () => {
    const unknown = documentedKeys(readme, /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/gm).filter((key) => !(key in settings));
    expect(unknown).toEqual([]);
  });
});

describe('.env.example', () => {
  const example = read('.env.example');

  it('documents every setting with its meaning and default, commented out', () => {
    const wrong = entries.filter(([key, setting]) => !envExampleBlock(key, setting).test(example));
    expect(
      wrong.map(([key, setting]) => `${key}: # ${setting.description} / # Default: ${defaultText(setting)}`),
    ).toEqual([]);
  });

  it('lists no variable that is not a setting', () => {
    const unknown = documentedKeys(example, /^#? ?([A-Z][A-Z0-9_]*)=/gm).filter((key) => !(key in settings));
    expect(unknown).toEqual([]);
  });

  it('starts the service with its defaults as it is (cp .env.example .env && npm start)', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'energyexe-env-'));
    const config = loadConfig({ ...(parseEnv(example) as Record<string, string>), DATA_DIR: dataDir });
    expect(config).toMatchObject({
      environment: 'development',
      host: '0.0.0.0',
      port: 8000,
      databaseUrl: undefined,
      migrateOnStart: true,
      apiPrefix: '/api/v1',
    });
  });
});
