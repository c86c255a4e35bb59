import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServer } from '../helpers/api-server.js';
import { ARTIFACTS_DIR, browserTestsSkipReason, launchBrowser, type TestBrowser } from '../helpers/browser.js';

const skipReason = browserTestsSkipReason();
if (skipReason) process.stdout.write(`docs pages in a browser: skipped, ${skipReason}\n`);

interface Operation {
  operationId: string;
  tags: string[];
  summary: string;
}

/** The built server with the docs on, opened in headless Chromium with every other origin blocked. */
describe.skipIf(skipReason)('the documentation pages in a real browser, offline', () => {
  let server: ServerProcess;
  let browser: TestBrowser;
  let operations: Operation[];
  let tags: string[];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    server = await startServer({ DOCS_ENABLED: 'true', PROJECT_NAME: 'EnergyExe Core Backend' });
    browser = await launchBrowser(server.url);
    const document = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as {
      tags: { name: string }[];
      paths: Record<string, Record<string, Operation>>;
    };
    tags = document.tags.map((t) => t.name);
    operations = Object.values(document.paths).flatMap((methods) => Object.values(methods));
  }, 90_000);

  afterAll(async () => {
    await browser?.shutdown();
    await server?.stop();
  });

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${path}: ${message.text()}`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`${path}: ${error.message}`));
    await page.goto(`${server.url}${path}`);
    return page;
  }

  /** Console errors other than the one ReDoc's footer logo (on a CDN) gets from the page's own CSP. */
  const unexpectedErrors = () =>
    consoleErrors.filter((e) => !/cdn\.redoc\.ly\/redoc\/logo-mini\.svg.*Content Security Policy/.test(e));

  it('/redoc renders every tag and every operation from the server alone, under its CSP', async () => {
    const page = await open('/redoc');
    await page.locator('h1', { hasText: 'EnergyExe Core Backend' }).waitFor({ timeout: 30_000 });
    expect(await page.title()).toBe('EnergyExe Core Backend - ReDoc');
    for (const tag of tags) {
      await expect.poll(() => page.locator(`[data-section-id="tag/${tag}"]`).count(), { message: tag }).toBe(1);
    }
    for (const op of operations) {
      const section = page.locator(`[data-section-id="tag/${op.tags[0]}/operation/${op.operationId}"]`);
      expect(await section.count(), op.operationId).toBe(1);
      expect((await section.locator('h2').first().textContent())?.trim(), op.operationId).toBe(op.summary);
    }
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'redoc.png') });
    // ReDoc's own sources, never a CDN.
    expect(browser.blocked).toEqual([]);
    expect(unexpectedErrors()).toEqual([]);
    await page.close();
  });

  it('/docs shows the project name and /api/v1/openapi.json, and every operation', async () => {
    const page = await open('/docs');
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    expect(await page.title()).toBe('EnergyExe Core Backend - Swagger UI');
    await expect.poll(() => page.locator('.topbar select').inputValue()).toBe('/api/v1/openapi.json');
    const logo = page.locator('.topbar-wrapper img');
    expect(await logo.getAttribute('src')).toMatch(/^data:image\/svg\+xml;base64,/);
    for (const op of operations) {
      expect(await page.locator(`#operations-${op.tags[0]}-${op.operationId}`).count(), op.operationId).toBe(1);
    }
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'swagger-ui.png') });
    expect(browser.blocked).toEqual([]);
    expect(unexpectedErrors()).toEqual([]);
    await page.close();
  });

  it('/docs: "Authorize" with a real user, then GET /users/me from the page shows that user', async () => {
    const account = { email: 'docs.reader@example.com', username: 'docs_reader', password: 'a-real-password-123' };
    const registered = await fetch(`${server.url}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(account),
    });
    expect(registered.status).toBe(201);
    const user = (await registered.json()) as { id: number };

    const page = await open('/docs');
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    await page.locator('.auth-wrapper button.authorize').click();
    const dialog = page.locator('.modal-ux');
    // The OAuth2 password flow: Swagger UI posts the form to /api/v1/auth/token.
    const oauth = dialog.locator('.auth-container', { hasText: 'OAuth2PasswordBearer' });
    await oauth.locator('#oauth_username').fill(account.username);
    await oauth.locator('#oauth_password').fill(account.password);
    const token = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/token'));
    await oauth.locator('button.authorize').click();
    expect((await token).status()).toBe(200);
    await oauth.locator('button', { hasText: 'Logout' }).waitFor();
    await dialog.locator('button.close-modal').click();

    const operation = page.locator('#operations-users-getCurrentUser');
    await operation.locator('.opblock-summary').click();
    await operation.locator('button.try-out__btn').click();
    const me = page.waitForResponse((r) => r.url().endsWith('/api/v1/users/me'));
    await operation.locator('button.execute').click();
    const response = await me;
    expect(response.status()).toBe(200);
    expect(await response.request().headerValue('authorization')).toMatch(/^Bearer /);
    const body = operation.locator('.live-responses-table .response-col_description pre').first();
    await body.waitFor();
    const shown = JSON.parse((await body.textContent()) ?? '') as Record<string, unknown>;
    expect(shown).toMatchObject({ id: user.id, username: account.username, email: account.email });
    await operation.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'docs-authorized-users-me.png'), fullPage: false });
    expect(browser.blocked).toEqual([]);
    await page.close();
  });
});
