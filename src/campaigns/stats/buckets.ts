import type { Types } from 'mongoose';
import type { Models } from '../../db/models/index.js';
import type { Counts, Metric } from './metrics.js';

export interface HourCounts {
  hour: Date;
  counts: Counts;
}

/** A campaign's counts per hour, summed over the processes that wrote them, oldest first. */
export async function countsByHour(
  models: Pick<Models, 'CampaignCounts'>,
  campaignId: Types.ObjectId,
): Promise<HourCounts[]> {
  const docs = await models.CampaignCounts.find({ campaignId }, { hour: 1, counts: 1 }).lean();
  const byHour = new Map<number, Counts>();
  for (const doc of docs) {
    const key = doc.hour.getTime();
    byHour.set(key, addCounts(byHour.get(key) ?? {}, (doc.counts ?? {}) as Counts));
  }
  return [...byHour.entries()]
    .sort(([a], [b]) => a - b)
    .map(([hour, counts]) => ({ hour: new Date(hour), counts }));
}

export function addCounts(into: Counts, more: Counts): Counts {
  for (const [metric, value] of Object.entries(more) as Array<[Metric, number]>)
    if (typeof value === 'number') into[metric] = (into[metric] ?? 0) + value;
  return into;
}

export function totalOf(hours: HourCounts[]): Counts {
  return hours.reduce<Counts>((sum, h) => addCounts(sum, h.counts), {});
}
