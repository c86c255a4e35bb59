import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.js';
import { DataDirLockedError } from '../db/data-dir-lock.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { isAppError } from '../shared/errors.js';
import { serializeError } from '../shared/logger.js';
import type { Command, OptionValues } from './command.js';
import { createSuperuser } from './commands/create-superuser.js';
import { listSuperusers } from './commands/list-superusers.js';
import { migrate } from './commands/migrate.js';
import { promote } from './commands/promote.js';
import { setRole } from './commands/set-role.js';
import { CliError, cliErrors } from './errors.js';

const commands: Record<string, Command> = {
  'create-superuser': createSuperuser,
  promote,
  'set-role': setRole,
  'list-superusers': listSuperusers,
  migrate,
};

function usage(): string {
  const entries = Object.values(commands).map((command) =>
    [`  ${command.synopsis}`, ...command.description.map((line) => `      ${line}`)].join('\n'),
  );
  return `Usage: npm run cli -- <command> [options]\n\nCommands:\n${entries.join('\n')}\n`;
}

const isParseArgsError = (error: unknown) =>
  typeof (error as { code?: unknown })?.code === 'string' &&
  (error as { code: string }).code.startsWith('ERR_PARSE_ARGS_');

/** The PostgreSQL error inside a driver or Drizzle error: its message is the server's, without query parameters. */
function postgresError(error: unknown): Error | undefined {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    if ('severity' in current && 'code' in current) return current;
    current = current.cause;
  }
  return undefined;
}

/** Writes what went wrong for a person to act on, and returns the exit code. */
function report(error: unknown): number {
  const fail = (message: string, code: number, withUsage = false) => {
    process.stderr.write(`Error: ${message}\n${withUsage ? `\n${usage()}` : ''}`);
    return code;
  };
  if (error instanceof CliError) return fail(error.message, error.exitCode, error.showUsage);
  if (isParseArgsError(error)) return fail((error as Error).message, 2, true);
  if (isAppError(error) || error instanceof ConfigError || error instanceof DataDirLockedError) {
    return fail(error.message, 1);
  }
  if (isDatabaseUnavailable(error)) {
    return fail('The database is unreachable. Check that it is running and that DATABASE_URL points to it.', 1);
  }
  const refusal = postgresError(error);
  if (refusal) return fail(`The database refused the operation: ${refusal.message}`, 1);
  // A failed query's message lists its parameters (a password hash among them): the serializer drops them.
  const { stack, message } = serializeError(error) as { stack?: string; message?: string };
  process.stderr.write(`${stack ?? message ?? String(error)}\n`);
  return 1;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name ? process.stdout : process.stderr).write(usage());
    return name ? 0 : 2;
  }
  try {
    const command = commands[name];
    if (!command) throw cliErrors.usage(`Unknown command: ${name}`);
    const { values } = parseArgs({
      args,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(usage());
      return 0;
    }
    await command.run(values as OptionValues, loadConfig());
    return 0;
  } catch (error) {
    return report(error);
  }
}

process.exitCode = await main(process.argv.slice(2));
