import { Type } from 'typebox';
import { EmailField, UsernameField } from '../../modules/users/users.schemas.js';
import { USER_ROLES, type UserRole } from '../../modules/users/users.table.js';
import { type Command, print } from '../command.js';
import { withServices } from '../context.js';
import { cliErrors } from '../errors.js';
import { createInputCheck } from '../input.js';

const checkLookup = createInputCheck(
  Type.Object({ email: Type.Optional(EmailField), username: Type.Optional(UsernameField) }),
);

export const setRole: Command = {
  synopsis: 'set-role (--email E | --username U) --role client|admin',
  description: ['Sets the role of an existing user (admins manage clients in the admin portal).'],
  options: { email: { type: 'string' }, username: { type: 'string' }, role: { type: 'string' } },

  async run(options, config) {
    if (!options.email === !options.username) throw cliErrors.usage('set-role needs one of --email or --username');
    const role = options.role as UserRole | undefined;
    if (!role || !USER_ROLES.includes(role)) throw cliErrors.usage('set-role needs --role client or --role admin');
    const by = checkLookup(options.email ? { email: options.email } : { username: options.username });
    const user = await withServices(config, (services) => services.users.setRole(by, role));
    print(`${user.username} <${user.email}> now has the role ${user.role}`);
  },
};
