import { type Command, print } from '../command.js';
import { describeDatabase, withDatabase } from '../context.js';
import { pendingMigrations } from '../migrations.js';

export const migrate: Command = {
  synopsis: 'migrate',
  description: ['Applies the pending database migrations (also: npm run db:migrate).'],
  options: {},

  async run(_options, config) {
    const applied = await withDatabase(config, async (database) => {
      const pending = await pendingMigrations(database.db);
      await database.migrate();
      return pending;
    });
    const where = describeDatabase(config);
    if (applied.length === 0) {
      print(`No migration to apply: ${where} is up to date.`);
      return;
    }
    print(`Applied ${applied.length} migration(s) to ${where}:`);
    for (const tag of applied) print(`  ${tag}`);
  },
};
