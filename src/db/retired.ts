import type { Connection } from 'mongoose';

/**
 * Collections earlier versions kept and this one no longer does. Dropped at connect so that no
 * copy of personal data outlives the code that would erase it: `subscriber_email_keys` held every
 * address, superseded by the unique index on `subscribers.email`.
 */
const RETIRED_COLLECTIONS = ['subscriber_email_keys'];

export async function dropRetiredCollections(connection: Connection): Promise<void> {
  const present = await connection
    .db!.listCollections({ name: { $in: RETIRED_COLLECTIONS } }, { nameOnly: true })
    .toArray();
  for (const { name } of present) await connection.db!.dropCollection(name);
}
