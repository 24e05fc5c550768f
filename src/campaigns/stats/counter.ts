import { randomUUID } from 'node:crypto';
import { Types } from 'mongoose';
import type { CampaignCountsModel } from '../../db/models/campaign-counts.js';
import { incrementOnce } from '../../db/counters.js';
import type { Logger } from '../../shared/logger.js';
import type { Counts, Metric } from './metrics.js';

const HOUR_MS = 3_600_000;
const CAMPAIGN_ID = /^[0-9a-f]{24}$/i;

interface Bucket {
  campaignId: string;
  hour: Date;
  counts: Counts;
}

/** What one written group added, per campaign. */
export type FlushedCounts = Map<string, Counts>;

/**
 * Durable counting without a write per event: increments gather in memory and are written every
 * `flushMs` as one `$inc` per campaign and hour (src/db/counters.ts), to documents only this
 * counter writes. A group that fails is sent again, unchanged, before anything newer, so nothing is
 * counted twice; stop() writes what is left, so a graceful shutdown loses nothing. A crash loses
 * at most the last interval's counts.
 */
export class CampaignCounter {
  /** Names this process's counter documents; new at every start, so each has one writer. */
  readonly writer = randomUUID();
  private pending = new Map<string, Bucket>();
  private unsent: { seq: number; buckets: Bucket[] } | null = null;
  private seq = 0;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: Array<(flushed: FlushedCounts) => void> = [];

  constructor(
    private readonly model: CampaignCountsModel,
    private readonly logger: Logger,
    private readonly flushMs = 1000,
  ) {}

  /** Adds counts of one campaign at one moment; written within about `flushMs`. */
  add(campaignId: string, counts: Counts, at: Date): void {
    // One malformed id would fail every later group it travels in.
    if (!CAMPAIGN_ID.test(campaignId)) throw new Error(`not a campaign id: ${campaignId}`);
    const hour = new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
    const key = `${campaignId}:${hour.toISOString()}`;
    let bucket = this.pending.get(key);
    for (const [metric, value] of Object.entries(counts) as Array<[Metric, number]>) {
      if (!value) continue;
      bucket ??= { campaignId, hour, counts: {} };
      bucket.counts[metric] = (bucket.counts[metric] ?? 0) + value;
    }
    if (bucket) this.pending.set(key, bucket);
  }

  /** Called after each written group with what it added (the deliverability guard listens). */
  onFlushed(listener: (flushed: FlushedCounts) => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.flush().catch((err: unknown) =>
        this.logger.warn({ err }, 'campaign counts not written yet; will try again'),
      );
    }, this.flushMs);
    this.timer.unref();
  }

  /** Resolves once everything added before the call is written. */
  flush(): Promise<void> {
    const next = this.chain.then(() => this.writeAll());
    this.chain = next.catch(() => {});
    return next;
  }

  /** Stops the timer and writes what is left (part of the graceful shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async writeAll(): Promise<void> {
    for (;;) {
      if (!this.unsent) {
        if (this.pending.size === 0) return;
        this.unsent = { seq: ++this.seq, buckets: [...this.pending.values()] };
        this.pending = new Map();
      }
      const { seq, buckets } = this.unsent;
      await incrementOnce(
        this.model.collection,
        seq,
        buckets.map((b) => ({
          id: `${b.campaignId}:${b.hour.toISOString()}:${this.writer}`,
          onInsert: {
            campaignId: new Types.ObjectId(b.campaignId),
            hour: b.hour,
            writer: this.writer,
          },
          inc: Object.fromEntries(
            Object.entries(b.counts).map(([k, v]) => [`counts.${k}`, v ?? 0]),
          ),
        })),
      );
      this.unsent = null;
      this.notify(buckets);
    }
  }

  private notify(buckets: Bucket[]): void {
    if (this.listeners.length === 0) return;
    const flushed: FlushedCounts = new Map();
    for (const b of buckets) {
      const sum = flushed.get(b.campaignId) ?? {};
      for (const [metric, value] of Object.entries(b.counts) as Array<[Metric, number]>)
        sum[metric] = (sum[metric] ?? 0) + value;
      flushed.set(b.campaignId, sum);
    }
    for (const listener of this.listeners) listener(flushed);
  }
}
