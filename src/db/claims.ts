import type { ClaimModel } from './models/claim.js';
import { isDuplicateKey } from '../shared/errors.js';

/** True when this caller inserted `key` first; every later caller gets false. */
export async function claimOnce(Claim: ClaimModel, key: string, owner: string): Promise<boolean> {
  try {
    await Claim.create({ _id: key, owner });
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}
