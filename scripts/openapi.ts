// Writes openapi.json at the repository root: the document the server serves at /api/v1/openapi.json, built
// from the same app (route schemas) on an in-memory embedded database, so front ends can generate clients
// without running a server. `npm run openapi`; a test fails when the committed file differs from the served one.
import { writeFileSync } from 'node:fs';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { openDatabase } from '../src/db/client.js';
import { createLogger } from '../src/shared/logger.js';

const OUTPUT = new URL('../openapi.json', import.meta.url);

const config = loadConfig({ ENVIRONMENT: 'test', DOCS_ENABLED: 'true', SECRET_KEY: 'x'.repeat(64), LOG_LEVEL: 'warn' });
const database = await openDatabase({});
await database.migrate();
const app = await buildApp({ config, database, logger: createLogger({ level: 'warn' }) });
try {
  const response = await app.inject({ method: 'GET', url: `${config.apiPrefix}/openapi.json` });
  if (response.statusCode !== 200) throw new Error(`GET openapi.json answered ${response.statusCode}`);
  writeFileSync(OUTPUT, `${JSON.stringify(response.json(), null, 2)}\n`);
} finally {
  await app.close();
  await database.close();
}
