import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** Screenshots the browser tests keep (gitignored), for a person to look at after a run. */
export const ARTIFACTS_DIR = new URL('../../test-artifacts/', import.meta.url).pathname;

/** Debian's Chromium (.ci/run installs it with `apt-get install -y chromium` when it is missing). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Browser tests are slow: they run in a step of their own (`BROWSER_TESTS=1`, see .ci/run), not in every pass;
 * the reason they are skipped is printed, so a skip never passes for a run.
 */
export function browserTestsSkipReason(): string | undefined {
  if (!process.env.BROWSER_TESTS) return 'browser tests run only with BROWSER_TESTS=1 (their own step in .ci/run)';
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
  return undefined;
}

export type TestBrowser = BrowserContext & {
  /** Requests to another origin, aborted before they left. */
  blocked: string[];
  /** Closes the browser and removes its profile. */
  shutdown(): Promise<void>;
};

/**
 * Headless Chromium with a fresh profile and nothing that phones home; every request to an origin other than
 * `origin` is aborted and listed, as on an offline network.
 */
export async function launchBrowser(origin: string): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'energyexe-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const blocked: string[] = [];
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === origin) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  return Object.assign(context, {
    blocked,
    async shutdown() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  });
}
