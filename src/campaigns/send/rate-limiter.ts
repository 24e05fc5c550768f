import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A token bucket shared by every lane of one worker: at most `perSecond` mails a second on
 * average, bursts of up to one second's worth. Operational pacing, so it runs on the monotonic
 * timer rather than the business clock.
 */
export class RateLimiter {
  private tokens: number;
  private last = performance.now();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly perSecond: number) {
    this.tokens = Math.min(perSecond, 1);
  }

  /** Resolves when one mail may go; callers are served in order. */
  take(): Promise<void> {
    const turn = this.chain.then(() => this.wait());
    this.chain = turn;
    return turn;
  }

  private async wait(): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(
        Math.max(this.perSecond, 1),
        this.tokens + ((now - this.last) / 1000) * this.perSecond,
      );
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000));
    }
  }
}
