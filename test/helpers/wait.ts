import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `check` until it holds, for at most `timeoutMs` of wall-clock time: a condition, not a
 * count of tries, so a busy machine gets the same time to get there as a quiet one.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  { timeoutMs = 25_000, everyMs = 50 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
