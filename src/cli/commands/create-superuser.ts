import { Type } from 'typebox';
import { RegisterBody } from '../../modules/auth/auth.schemas.js';
import { isAppError } from '../../shared/errors.js';
import { createPasswordPolicy } from '../../shared/password-policy.js';
import { type Command, print } from '../command.js';
import { withServices } from '../context.js';
import { cliErrors } from '../errors.js';
import { createInputCheck } from '../input.js';
import { readPassword } from '../prompt.js';

const checkRegistration = createInputCheck(RegisterBody);
const checkAllButPassword = createInputCheck(Type.Omit(RegisterBody, ['password']));

export const createSuperuser: Command = {
  synopsis: 'create-superuser --email E --username U [--password P] [--first-name F] [--last-name L]',
  description: [
    'Creates an active superuser with a verified email. Without --password (which other local',
    'users can see in the process list) the password is asked for twice, hidden, on a terminal,',
    'or read as one line from stdin.',
  ],
  options: {
    email: { type: 'string' },
    username: { type: 'string' },
    password: { type: 'string' },
    'first-name': { type: 'string' },
    'last-name': { type: 'string' },
  },

  async run(options, config) {
    if (!options.email || !options.username) throw cliErrors.usage('create-superuser needs --email and --username');
    const fields = {
      email: options.email,
      username: options.username,
      ...(options['first-name'] ? { first_name: options['first-name'] } : {}),
      ...(options['last-name'] ? { last_name: options['last-name'] } : {}),
    };
    // Bad details are reported before anyone types a password for nothing.
    if (options.password === undefined) checkAllButPassword({ ...fields });
    const input = checkRegistration({ ...fields, password: options.password ?? (await readPassword()) });
    // The same policy the service applies, checked before the database is opened, reported like the rest.
    try {
      await createPasswordPolicy({ minLength: config.passwordMinLength }).check(input.password, 'password', {
        username: input.username,
        email: input.email,
        firstName: input.first_name,
        lastName: input.last_name,
      });
    } catch (error) {
      if (!isAppError(error)) throw error;
      const lines = (error.details ?? []).map((detail) => `  ${detail.loc.slice(1).join('.')}: ${detail.msg}`);
      throw cliErrors.invalidInput(`Invalid input:\n${lines.join('\n')}`);
    }

    const user = await withServices(config, (services) =>
      services.users.create({ ...input, is_superuser: true }, undefined, { emailVerified: true }),
    );
    print(`Created superuser ${user.username} <${user.email}> (id ${user.id})`);
  },
};
