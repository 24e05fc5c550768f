import mongoose, { type Connection } from 'mongoose';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { startEmbedded, type EmbeddedDatabase } from './embedded.js';
import { createModels, type Models } from './models/index.js';
import { dropRetiredCollections } from './retired.js';

export interface Database {
  connection: Connection;
  models: Models;
  /** True when the database answers a query within a second. */
  answersQuery(): Promise<boolean>;
  close(): Promise<void>;
  /** Ends the embedded FerretDB at once (SIGTERM), for a process that must exit now. */
  abandon(): void;
}

export interface DatabaseOptions {
  uri: string | undefined;
  dataDir: string;
  /** Database name; tests give each file its own. */
  dbName?: string;
  clock: Clock;
  logger: Logger;
}

const DEFAULT_DB = 'kirje';

// Every query's exec() otherwise captures `new Error().stack`, kept only to explain a query run
// twice (a programming error): 0.1–0.2 ms of CPU per query, most of it with source maps (tsx),
// on every read and write of every request (measured in the inbound bench, 2026-11-25).
mongoose.set('skipOriginalStackTraces', true);

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  let embedded: EmbeddedDatabase | undefined;
  const uri = opts.uri ?? (embedded = await startEmbedded(opts.dataDir, opts.logger)).uri;
  const dbName =
    opts.dbName ??
    (new URL(uri.replace(/^mongodb\+srv:/, 'http:').replace(/^mongodb:/, 'http:')).pathname.slice(
      1,
    ) ||
      DEFAULT_DB);
  try {
    return await connect(uri, dbName, opts, embedded);
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}

/** Connects to a server that is already running (the test harness shares one FerretDB). */
export async function connect(
  uri: string,
  dbName: string,
  opts: Pick<DatabaseOptions, 'clock' | 'logger'>,
  embedded?: EmbeddedDatabase,
): Promise<Database> {
  const connection = mongoose.createConnection(uri, {
    dbName,
    autoIndex: false,
    serverSelectionTimeoutMS: 5000,
    // FerretDB 1.24 has no sessions; retryable writes would need them.
    retryWrites: false,
  });
  await connection.asPromise();
  const models = createModels(connection, opts.clock);
  await Promise.all(Object.values(models).map((m) => m.createIndexes()));
  await dropRetiredCollections(connection);
  opts.logger.info({ db: dbName, embedded: Boolean(embedded) }, 'database connected');

  return {
    connection,
    models,
    async answersQuery() {
      try {
        // A real read, not a `ping`: a database whose connections are all held answers pings.
        const read = connection.db!.collection('lists').findOne({ _id: 'health-check' } as never, {
          maxTimeMS: 1000,
        });
        const timeout = new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('query timeout')), 1000).unref(),
        );
        await Promise.race([read, timeout]);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await connection.close();
      await embedded?.stop();
    },
    abandon: () => embedded?.abandon(),
  };
}
