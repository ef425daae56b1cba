import { moveStoreAside, openStore } from '../../core/store/index.js';
import { parseArgs, UsageError } from '../args.js';
import { databasePath, type Command } from '../context.js';

/** The command line's Reset Store: the same core move as the editor's, so nothing is ever deleted. */
export const resetStoreCommand: Command = {
  name: 'reset-store',
  usage: 'internalize reset-store [--db PATH]',
  summary: 'Move the database (and its WAL files) aside as a timestamped backup and start a fresh, empty one; for a file that is damaged or not a database. Nothing is deleted.',
  run(argv, io) {
    const args = parseArgs(argv, { values: ['db'], flags: [] });
    if (args.positionals.length > 0) throw new UsageError(`reset-store takes no arguments (got "${args.positionals.join(' ')}"); name the database with --db PATH.`);
    const path = databasePath(args.options.get('db'), io);
    const backup = moveStoreAside(path);
    // Opening creates the fresh database at once, so a problem with the folder shows now rather than on next use.
    openStore(path).close();
    io.out(backup === undefined ? `No database was at ${path}; created a new one.\n` : `Moved ${path} to ${backup} (kept as a backup) and created a new database.\n`);
    return Promise.resolve(0);
  },
};
