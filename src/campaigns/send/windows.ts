import type { Types } from 'mongoose';
import { insertOnce } from '../../db/claims.js';
import type { Models } from '../../db/models/index.js';
import type { Clock } from '../../shared/clock.js';
import type { CampaignCounter } from '../stats/counter.js';
import { outcomeCounts } from '../stats/metrics.js';

/**
 * The send protocol's records (docs/sending.md). A batch's entries are cut into cells of
 * `windowSize`; attempt n of cell k is one window, keyed `<batchId>:<n>:<k>`. Before a window's
 * recipients go to SMTP its open record is inserted, once; after, its outcome record, once. A
 * window opened but never settled (its sender died) is settled as unknown by the next holder of
 * the batch. Two database writes per window, whatever its size.
 */
export const windowKey = (batchId: Types.ObjectId, attempt: number, cell: number): string =>
  `${String(batchId)}:${attempt}:${cell}`;

/** A window's place: which batch, which attempt, which cell. */
export interface WindowRef {
  campaignId: Types.ObjectId;
  batchId: Types.ObjectId;
  attempt: number;
  cell: number;
}

/** What became of a window's recipients, named by their index in the batch's entries. */
export interface WindowOutcomes {
  sent: number[];
  failed: Array<{ i: number; reply: string }>;
  /**
   * Temporary failures, all due again at `retryAt`, as attempt n+1 of the same cell. `tries`:
   * how often the recipient has been handed to SMTP so far (one held back was not).
   */
  retry: Array<{ i: number; reply: string; tries: number }>;
  retryAt?: Date;
  skipped: Array<{ i: number; reason: string }>;
  unknown: number[];
}

export type OutcomeCounts = Record<'sent' | 'failed' | 'retry' | 'skipped' | 'unknown', number>;

/** A window to send: attempt 1 is a whole cell, a later attempt the retries of the one before. */
export interface PlannedWindow {
  attempt: number;
  cell: number;
  entryIndexes: number[];
  /** Per entry, how often it was handed to SMTP before; absent for a first attempt. */
  triesBefore?: Map<number, number>;
}

interface OpenedRecord {
  _id: string;
  entryIndexes: number[];
}

/** What a batch's records say is left to do, for the holder of its lease. */
export interface BatchPlan {
  due: PlannedWindow[];
  /** The earliest retry not yet due; absent when none waits. */
  waitingUntil?: Date;
}

type WindowModels = Pick<Models, 'CampaignWindow' | 'CampaignWindowOutcome'>;

export class WindowLedger {
  constructor(
    private readonly models: WindowModels,
    private readonly counter: Pick<CampaignCounter, 'add'>,
    private readonly clock: Clock,
  ) {}

  /**
   * Writes the durable record naming the recipients about to be handed to SMTP. True when this
   * caller owns the window; false when someone else opened it (a previous holder of the batch
   * still at work): then none of it may be sent by this caller.
   */
  async openWindow(ref: WindowRef, entryIndexes: number[], owner: string): Promise<boolean> {
    const _id = windowKey(ref.batchId, ref.attempt, ref.cell);
    const record = { _id, ...ref, entryIndexes, owner, openedAt: this.clock.now() };
    if (await insertOnce(this.models.CampaignWindow, record)) return true;
    // After a transient failure our own first try may be the one that went in.
    const stored = await this.models.CampaignWindow.findById(_id, { owner: 1 }).lean();
    return stored?.owner === owner;
  }

  /**
   * The one place a window's outcomes are written: one insert, whoever comes first. A sender
   * that finds the window already settled (as unknown, by a holder that took over its batch)
   * gets that record back: what is stored is what counts.
   */
  async recordWindowOutcomes(ref: WindowRef, outcomes: WindowOutcomes): Promise<WindowOutcomes> {
    const _id = windowKey(ref.batchId, ref.attempt, ref.cell);
    const record = {
      _id,
      ...ref,
      ...outcomes,
      counts: countsOf(outcomes),
      recordedAt: this.clock.now(),
    };
    if (await insertOnce(this.models.CampaignWindowOutcome, record)) {
      // Recorded here and nowhere else, once per window: the campaign's statistics count it here.
      this.counter.add(String(ref.campaignId), outcomeCounts(outcomes), record.recordedAt);
      return outcomes;
    }
    const stored = await this.models.CampaignWindowOutcome.findById(_id).lean<WindowOutcomes>();
    return stored ?? outcomes;
  }

  /** The plan of a batch nobody held before: every cell's first attempt. */
  planFresh(batchId: Types.ObjectId, entryCount: number, windowSize: number): BatchPlan {
    return planCells(batchId, entryCount, windowSize, new Set(), new Map(), this.clock.now());
  }

  /**
   * Reads a batch's windows, settles those whose sender is gone as unknown, and plans what is
   * left. Only the holder of the batch's lease calls this.
   */
  async planBatch(
    campaignId: Types.ObjectId,
    batchId: Types.ObjectId,
    entryCount: number,
    windowSize: number,
  ): Promise<BatchPlan> {
    const [opened, settled] = await Promise.all([
      this.models.CampaignWindow.find({ batchId }, { entryIndexes: 1 }).lean<OpenedRecord[]>(),
      this.models.CampaignWindowOutcome.find({ batchId }).lean<
        Array<WindowOutcomes & { _id: string }>
      >(),
    ]);
    const outcomes = new Map<string, WindowOutcomes>(settled.map((o) => [o._id, o]));
    for (const window of opened) {
      if (outcomes.has(window._id)) continue;
      const [, attempt, cell] = window._id.split(':').map(Number);
      const ref = { campaignId, batchId, attempt: attempt!, cell: cell! };
      outcomes.set(
        window._id,
        await this.recordWindowOutcomes(ref, { ...noOutcomes(), unknown: window.entryIndexes }),
      );
    }
    return planCells(
      batchId,
      entryCount,
      windowSize,
      new Set(opened.map((w) => w._id)),
      outcomes,
      this.clock.now(),
    );
  }
}

export const noOutcomes = (): WindowOutcomes => ({
  sent: [],
  failed: [],
  retry: [],
  skipped: [],
  unknown: [],
});

export function countsOf(o: WindowOutcomes): OutcomeCounts {
  return {
    sent: o.sent.length,
    failed: o.failed.length,
    retry: o.retry.length,
    skipped: o.skipped.length,
    unknown: o.unknown.length,
  };
}

/**
 * Per cell, the first attempt not yet made: attempt 1 when the cell was never opened, else the
 * retries of the last settled attempt once they are due.
 */
export function planCells(
  batchId: Types.ObjectId,
  entryCount: number,
  windowSize: number,
  opened: Set<string>,
  outcomes: Map<string, WindowOutcomes>,
  now: Date,
): BatchPlan {
  const due: PlannedWindow[] = [];
  let waitingUntil: Date | undefined;
  for (let cell = 0; cell * windowSize < entryCount; cell++) {
    let attempt = 1;
    let key = windowKey(batchId, attempt, cell);
    if (!opened.has(key) && !outcomes.has(key)) {
      const first = cell * windowSize;
      const last = Math.min(entryCount, first + windowSize);
      due.push({ attempt, cell, entryIndexes: range(first, last) });
      continue;
    }
    for (;;) {
      const outcome = outcomes.get(key);
      if (!outcome || outcome.retry.length === 0) break;
      const nextKey = windowKey(batchId, attempt + 1, cell);
      if (opened.has(nextKey) || outcomes.has(nextKey)) {
        attempt += 1;
        key = nextKey;
        continue;
      }
      if (!outcome.retryAt || outcome.retryAt <= now) {
        due.push({
          attempt: attempt + 1,
          cell,
          entryIndexes: outcome.retry.map((r) => r.i),
          // Records written before `tries` was kept counted every attempt as a try.
          triesBefore: new Map(outcome.retry.map((r) => [r.i, r.tries ?? attempt])),
        });
      } else if (!waitingUntil || outcome.retryAt < waitingUntil) {
        waitingUntil = outcome.retryAt;
      }
      break;
    }
  }
  return { due, ...(waitingUntil ? { waitingUntil } : {}) };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);
