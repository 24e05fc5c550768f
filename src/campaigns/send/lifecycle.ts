import { setTimeout as sleep } from 'node:timers/promises';
import type { Types } from 'mongoose';
import { sendingClaims } from '../../db/claims.js';
import type { CampaignDoc, CampaignStatus } from '../../db/models/campaign.js';
import type { Models } from '../../db/models/index.js';
import type { Clock } from '../../shared/clock.js';

type Campaign = CampaignDoc & { _id: Types.ObjectId };
type LifecycleModels = Pick<Models, 'Campaign' | 'Claim'>;

/** A change to a campaign document, allowed only in some states. */
export interface CampaignWrite {
  from: readonly CampaignStatus[];
  /** A further condition on the document as read. */
  when?: (c: Campaign) => boolean;
  set: Record<string, unknown>;
  unset?: Record<string, 1>;
}

// A claimed version whose write never came (its writer died in between) is raced for again after
// this long, so a campaign cannot be wedged.
const STALE_MS = 10_000;
const ROUNDS = 100;

/**
 * Every write to a campaign document (lifecycle transitions, edits, the snapshot's lease) goes
 * through here. Not every database we run on applies a filtered update atomically or keeps a
 * concurrent write to another field (docs/database.md), so a
 * writer claims the document's current `stateVersion` by unique insert and bumps it: writers are
 * serialised, and each decides on a document nobody changes under it. Null when the campaign is
 * not (or no longer) in a state that allows the write; else the document as written.
 */
export async function writeCampaign(
  models: LifecycleModels,
  clock: Clock,
  id: Types.ObjectId,
  change: CampaignWrite,
  owner: string,
): Promise<Campaign | null> {
  for (let round = 0; round < ROUNDS; round++) {
    const current = await models.Campaign.findById(id).lean<Campaign>();
    if (!current || !change.from.includes(current.status)) return null;
    if (change.when && !change.when(current)) return null;
    const version = current.stateVersion ?? 0;
    if (await claimVersion(models, clock, id, version, owner)) {
      const set = { ...change.set, stateVersion: version + 1 };
      await models.Campaign.updateOne(
        { _id: id },
        { $set: set, ...(change.unset ? { $unset: change.unset } : {}) },
      );
      const written: Record<string, unknown> = { ...current, ...set };
      for (const k of Object.keys(change.unset ?? {})) delete written[k];
      return written as unknown as Campaign;
    }
    // Another writer has this version; once its write lands, decide again on what it wrote.
    await sleep(Math.min(5 * (round + 1), 100));
  }
  throw new Error(`campaign ${String(id)}: a write did not settle`);
}

async function claimVersion(
  models: LifecycleModels,
  clock: Clock,
  id: Types.ObjectId,
  version: number,
  owner: string,
): Promise<boolean> {
  const { Claim } = models;
  const won = await sendingClaims(Claim).lease(
    `campaign:${String(id)}:${version}`,
    STALE_MS,
    clock.now(),
    { owner },
    async () =>
      ((await models.Campaign.findById(id, { stateVersion: 1 }).lean())?.stateVersion ?? 0) ===
      version,
  );
  return won !== null;
}
