/** A failure the CLI reports as a message alone (no stack), with the exit code it deserves. */
export class CliError extends Error {
  override name = 'CliError';

  constructor(
    message: string,
    readonly exitCode: number,
    /** The command line itself was wrong: the usage follows the message. */
    readonly showUsage = false,
  ) {
    super(message);
  }
}

export const cliErrors = {
  usage: (message: string) => new CliError(message, 2, true),
  invalidInput: (message: string) => new CliError(message, 2),
  cancelled: () => new CliError('Cancelled', 130),
  notMigrated: (pending: string[]) =>
    new CliError(
      `The database has ${pending.length} pending migration(s) (${pending.join(', ')}). Run: npm run db:migrate`,
      1,
    ),
};
