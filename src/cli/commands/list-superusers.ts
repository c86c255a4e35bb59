import { type Command, formatTable, print } from '../command.js';
import { withServices } from '../context.js';

export const listSuperusers: Command = {
  synopsis: 'list-superusers',
  description: ['Lists the superusers.'],
  options: {},

  async run(_options, config) {
    const rows = await withServices(config, (services) => services.users.listSuperusers());
    if (rows.length === 0) {
      print('No superusers yet. Create one with: npm run cli -- create-superuser --email E --username U');
      return;
    }
    print(
      formatTable(
        ['id', 'username', 'email', 'active'],
        rows.map((user) => [String(user.id), user.username, user.email, user.isActive ? 'yes' : 'no']),
      ),
    );
  },
};
