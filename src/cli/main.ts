import { parseArgs } from 'node:util';
import pino from 'pino';
import { ConfigError, loadConfig } from '../config/config.js';
import { type DatabaseHandle, openConfiguredDatabase } from '../db/client.js';
import { DataDirLockedError } from '../db/data-dir-lock.js';
import { RegisterBody } from '../modules/auth/auth.schemas.js';
import { createLogTransport } from '../modules/mail/mail.transport.js';
import { toValidationDetails } from '../plugins/errors.js';
import { createServices, type Services } from '../services.js';
import { systemClock } from '../shared/clock.js';
import { isAppError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { createPasswordHasher } from '../shared/password-hasher.js';
import { createValidatorCompiler } from '../shared/validation.js';
import { readPassword } from './prompt.js';
import { UsageError } from './usage-error.js';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  create-superuser --email E --username U [--password P] [--first-name F] [--last-name L]
                   Creates an active superuser. Without --password it is asked for
                   (hidden, twice) on a terminal, or read as one line from stdin.
  promote (--email E | --username U)
                   Makes an existing user a superuser.
  list-superusers  Lists the superusers.
  migrate          Applies pending database migrations (also: npm run db:migrate).
`;

const out = (text: string) => process.stdout.write(`${text}\n`);

type Options = Record<string, string | undefined>;

interface Command {
  options: Record<string, { type: 'string' }>;
  run(services: Services, database: DatabaseHandle, options: Options): Promise<void>;
}

const validateRegistration = createValidatorCompiler()({
  schema: RegisterBody,
  httpPart: 'body',
  method: 'POST',
  url: 'cli',
}) as ((data: unknown) => boolean) & { errors?: unknown[] | null };

const commands: Record<string, Command> = {
  'create-superuser': {
    options: {
      email: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      'first-name': { type: 'string' },
      'last-name': { type: 'string' },
    },
    async run(services, _database, options) {
      if (!options.email || !options.username) throw new UsageError('create-superuser needs --email and --username');
      const input = {
        email: options.email,
        username: options.username,
        password: options.password ?? (await readPassword()),
        ...(options['first-name'] ? { first_name: options['first-name'] } : {}),
        ...(options['last-name'] ? { last_name: options['last-name'] } : {}),
      };
      // The same rules as POST /auth/register, from the same schema.
      if (!validateRegistration(input)) {
        const details = toValidationDetails(validateRegistration.errors as never, 'body');
        throw new UsageError(details.map((d) => `${d.loc.slice(1).join('.')}: ${d.msg}`).join('\n'));
      }
      const user = await services.users.create({ ...input, is_superuser: true }, undefined, { emailVerified: true });
      out(`Created superuser ${user.username} <${user.email}> (id ${user.id})`);
    },
  },

  promote: {
    options: { email: { type: 'string' }, username: { type: 'string' } },
    async run(services, _database, options) {
      if (!options.email === !options.username)
        throw new UsageError('promote needs exactly one of --email or --username');
      const user = await services.users.promote({ email: options.email, username: options.username });
      out(`${user.username} <${user.email}> is now a superuser`);
    },
  },

  'list-superusers': {
    options: {},
    async run(services) {
      const rows = await services.users.listSuperusers();
      if (rows.length === 0) {
        out('No superusers. Create one with: npm run cli -- create-superuser --email E --username U');
        return;
      }
      const table = [
        ['id', 'username', 'email', 'active'],
        ...rows.map((u) => [String(u.id), u.username, u.email, u.isActive ? 'yes' : 'no']),
      ];
      const widths = table[0]?.map((_, i) => Math.max(...table.map((r) => r[i]?.length ?? 0))) ?? [];
      for (const row of table)
        out(
          row
            .map((cell, i) => cell.padEnd(widths[i] ?? 0))
            .join('  ')
            .trimEnd(),
        );
    },
  },

  migrate: {
    options: {},
    async run(_services, database) {
      await database.migrate();
      out(`Migrations applied (${database.kind === 'embedded' ? 'embedded database' : 'PostgreSQL'})`);
    },
  },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(name && name !== '--help' ? `Unknown command: ${name}\n\n${USAGE}` : USAGE);
    return name === '--help' ? 0 : 2;
  }

  let database: DatabaseHandle | undefined;
  try {
    const { values } = parseArgs({ args: rest, options: command.options, strict: true, allowPositionals: false });
    const config = loadConfig();
    const logger = createLogger({ level: 'warn', pretty: false }, pino.destination(2));
    database = await openConfiguredDatabase(config, logger);
    // The embedded database is migrated on first use, as the server does; PostgreSQL only by `migrate`.
    if (config.migrateOnStart && name !== 'migrate') await database.migrate();
    const services = createServices({
      config,
      db: database.db,
      clock: systemClock,
      passwordHasher: createPasswordHasher(),
      mailTransport: createLogTransport(logger, config.environment === 'production'),
      logger,
    });
    await command.run(services, database, values as Options);
    await services.stop();
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`Error: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (isAppError(error) || error instanceof ConfigError || error instanceof DataDirLockedError) {
      process.stderr.write(`Error: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  } finally {
    await database?.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
