import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from './logger.js';

/**
 * A background job's loop: runs `round` again at once after a round that did work, else after
 * `idleMs` (or when stopped). A failed round is logged and the loop goes on. `stop()` lets the
 * round in hand finish; rounds check `stopping` to end early.
 */
export class PollingLoop {
  private loop: Promise<void> | undefined;
  private stopRequested = false;
  private idle: AbortController | undefined;

  constructor(
    private readonly name: string,
    private readonly round: () => Promise<boolean>,
    private readonly idleMs: number,
    private readonly logger: Logger,
  ) {}

  get stopping(): boolean {
    return this.stopRequested;
  }

  start(): void {
    if (this.loop) return;
    this.stopRequested = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    this.idle?.abort();
    await this.loop;
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    while (!this.stopRequested) {
      let worked = false;
      try {
        worked = await this.round();
      } catch (err) {
        this.logger.error({ err }, `${this.name} round failed`);
      }
      if (!worked && !this.stopRequested) {
        this.idle = new AbortController();
        await sleep(this.idleMs, undefined, { signal: this.idle.signal }).catch(() => {});
      }
    }
  }
}
