import { isDuplicateKey } from '../shared/errors.js';

/**
 * Runs an unordered bulk write and returns the indexes of the operations a unique index refused
 * (the others were applied); any other failure is rethrown.
 */
export async function refusedAsDuplicates(write: () => Promise<unknown>): Promise<number[]> {
  try {
    await write();
    return [];
  } catch (err) {
    const writeErrors = (
      err as { writeErrors?: Array<{ index: number; code?: number; err?: { code?: number } }> }
    ).writeErrors;
    if (
      !writeErrors?.length ||
      !writeErrors.every((e) => isDuplicateKey(e) || isDuplicateKey(e.err))
    )
      throw err;
    return writeErrors.map((e) => e.index);
  }
}
