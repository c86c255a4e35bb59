import { Type } from 'typebox';
import { EmailField, UsernameField } from '../../modules/users/users.schemas.js';
import { type Command, print } from '../command.js';
import { withServices } from '../context.js';
import { cliErrors } from '../errors.js';
import { createInputCheck } from '../input.js';

const checkLookup = createInputCheck(
  Type.Object({ email: Type.Optional(EmailField), username: Type.Optional(UsernameField) }),
);

export const promote: Command = {
  synopsis: 'promote (--email E | --username U)',
  description: ['Makes an existing user a superuser.'],
  options: { email: { type: 'string' }, username: { type: 'string' } },

  async run(options, config) {
    if (!options.email === !options.username) throw cliErrors.usage('promote needs one of --email or --username');
    // Validated as the API would, so `--email alice` is refused instead of matching the username "alice".
    const by = checkLookup(options.email ? { email: options.email } : { username: options.username });
    const user = await withServices(config, (services) => services.users.promote(by));
    const note = user.isActive ? '' : ' (the account is inactive: it cannot log in until reactivated)';
    print(`${user.username} <${user.email}> is now a superuser${note}`);
  },
};
