import { Types } from 'mongoose';
import type { Models } from '../../db/models/index.js';
import {
  UNSUBSCRIBE_CHANNELS,
  type UnsubscribeChannel,
} from '../../db/models/unsubscribe-event.js';
import type { Clock } from '../../shared/clock.js';
import { notFound } from '../../shared/errors.js';
import { addCounts, countsByHour, totalOf } from './buckets.js';
import type { CampaignCounter } from './counter.js';
import type { GuardConfig } from './guard.js';
import type { Counts, Metric } from './metrics.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** The series is hourly for this long after the start, daily after. */
const HOURLY_SPAN_MS = 48 * HOUR_MS;

export const OPENS_NOTE =
  'Opens are an indicator only: mail privacy proxies (such as Apple Mail Privacy Protection) load ' +
  'every image on delivery, which inflates them, and mail read with images off is not counted.';

/** One point of the series: an hour, or a UTC day after the first 48 hours. */
export interface SeriesPoint {
  start: Date;
  hours: 1 | 24;
  delivered: number;
  hardBounced: number;
  softBounced: number;
  complaints: number;
  unsubscribed: number;
  clicks: number;
  botClicks: number;
  opens: number;
  botOpens: number;
}

export interface CampaignAnalytics {
  campaignId: string;
  tracking: { clicks: boolean; opens: boolean };
  totals: Omit<SeriesPoint, 'start' | 'hours'>;
  unsubscribedByChannel: Record<UnsubscribeChannel, number>;
  links: Array<{ index: number; url: string; clicks: number; botClicks: number }>;
  series: SeriesPoint[];
  guard: {
    limits: GuardConfig;
    /** Shares of what was delivered since the last resume after a guard pause (or the start). */
    measured: { delivered: number; hardBounceShare: number; complaintShare: number };
    pausedBy: { code: string; message: string; at: Date } | null;
  };
  notes: { opens: string; clicks: string };
}

const CLICKS_NOTE =
  'Clicks are requests for a link, counted per link and never per person; requests from mail ' +
  'security scanners and prefetching are counted apart as botClicks.';

/** GET /campaigns/:id/stats: what recipients did with a campaign, over time, identifying no one. */
export class CampaignAnalyticsService {
  constructor(
    private readonly models: Pick<Models, 'Campaign' | 'CampaignCounts' | 'UnsubscribeEvent'>,
    private readonly counter: CampaignCounter,
    private readonly guard: GuardConfig,
    private readonly clock: Clock,
  ) {}

  async report(id: string): Promise<CampaignAnalytics> {
    const campaign = /^[0-9a-f]{24}$/i.test(id)
      ? await this.models.Campaign.findById(id, {
          tracking: 1,
          links: 1,
          startedAt: 1,
          pausedByGuard: 1,
          guardAcknowledged: 1,
        }).lean()
      : null;
    if (!campaign) throw notFound('campaign');
    const campaignId = new Types.ObjectId(id);
    // What this process counted so far is shown at once; other processes' within a second.
    await this.counter.flush();
    const [hours, unsubscribes] = await Promise.all([
      countsByHour(this.models, campaignId),
      this.models.UnsubscribeEvent.find({ campaignId }, { at: 1, channel: 1 }).lean(),
    ]);
    const totals = totalOf(hours);
    const links = (campaign.links ?? []).map((url, index) => ({
      index,
      url,
      clicks: totals[`click_${index}`] ?? 0,
      botClicks: totals[`botClick_${index}`] ?? 0,
    }));
    const byChannel = Object.fromEntries(UNSUBSCRIBE_CHANNELS.map((c) => [c, 0])) as Record<
      UnsubscribeChannel,
      number
    >;
    for (const u of unsubscribes) byChannel[u.channel] += 1;
    const series = this.series(
      campaign.startedAt ?? null,
      hours,
      unsubscribes.map((u) => u.at),
    );
    const delivered = totals.delivered ?? 0;
    const since = (campaign.guardAcknowledged?.counts ?? {}) as Counts;
    const sinceDelivered = delivered - (since.delivered ?? 0);
    const share = (metric: Metric) =>
      sinceDelivered > 0 ? ((totals[metric] ?? 0) - (since[metric] ?? 0)) / sinceDelivered : 0;
    return {
      campaignId: id,
      tracking: {
        clicks: campaign.tracking?.clicks !== false,
        opens: campaign.tracking?.opens === true,
      },
      totals: {
        ...pointOf(totals),
        unsubscribed: unsubscribes.length,
      },
      unsubscribedByChannel: byChannel,
      links,
      series,
      guard: {
        limits: this.guard,
        measured: {
          delivered: sinceDelivered,
          hardBounceShare: share('hardBounced'),
          complaintShare: share('complaints'),
        },
        pausedBy: campaign.pausedByGuard
          ? {
              code: campaign.pausedByGuard.code,
              message: campaign.pausedByGuard.message,
              at: campaign.pausedByGuard.at,
            }
          : null,
      },
      notes: { opens: OPENS_NOTE, clicks: CLICKS_NOTE },
    };
  }

  /** Hourly points for the first 48 hours from the start (or first count), daily ones after. */
  private series(
    startedAt: Date | null,
    hours: Array<{ hour: Date; counts: Counts }>,
    unsubscribedAt: Date[],
  ): SeriesPoint[] {
    const firstCount = hours[0]?.hour.getTime();
    const firstUnsub = unsubscribedAt.length
      ? Math.min(...unsubscribedAt.map((d) => d.getTime()))
      : undefined;
    const candidates = [startedAt?.getTime(), firstCount, firstUnsub].filter(
      (t): t is number => t !== undefined,
    );
    if (candidates.length === 0) return [];
    const origin = Math.floor(Math.min(...candidates) / HOUR_MS) * HOUR_MS;
    const hourlyEnd = origin + HOURLY_SPAN_MS;
    const lastData = Math.max(
      origin,
      ...hours.map((h) => h.hour.getTime()),
      ...unsubscribedAt.map((d) => d.getTime()),
    );
    const end = Math.min(Math.max(lastData, this.clock.now().getTime()), lastData + DAY_MS);
    const points = new Map<number, { hours: 1 | 24; counts: Counts; unsubscribed: number }>();
    const slot = (t: number) =>
      t < hourlyEnd
        ? { start: Math.floor(t / HOUR_MS) * HOUR_MS, hours: 1 as const }
        : { start: Math.floor(t / DAY_MS) * DAY_MS, hours: 24 as const };
    // Every hour (then day) from the origin to the end, so gaps show as zeros.
    for (let t = origin; t <= end;) {
      const s = slot(t);
      if (!points.has(s.start))
        points.set(s.start, { hours: s.hours, counts: {}, unsubscribed: 0 });
      t = s.start + s.hours * HOUR_MS;
    }
    const pointAt = (t: number) => {
      const s = slot(Math.max(t, origin));
      let p = points.get(s.start);
      if (!p) points.set(s.start, (p = { hours: s.hours, counts: {}, unsubscribed: 0 }));
      return p;
    };
    for (const h of hours) addCounts(pointAt(h.hour.getTime()).counts, h.counts);
    for (const at of unsubscribedAt) pointAt(at.getTime()).unsubscribed += 1;
    return [...points.entries()]
      .sort(([a], [b]) => a - b)
      .map(([start, p]) => ({
        start: new Date(start),
        hours: p.hours,
        ...pointOf(p.counts),
        unsubscribed: p.unsubscribed,
      }));
  }
}

/** The named counts of a sum, with clicks over all links. */
function pointOf(counts: Counts): Omit<SeriesPoint, 'start' | 'hours'> {
  let clicks = 0;
  let botClicks = 0;
  for (const [metric, value] of Object.entries(counts) as Array<[Metric, number]>) {
    if (metric.startsWith('click_')) clicks += value;
    else if (metric.startsWith('botClick_')) botClicks += value;
  }
  return {
    delivered: counts.delivered ?? 0,
    hardBounced: counts.hardBounced ?? 0,
    softBounced: counts.softBounced ?? 0,
    complaints: counts.complaints ?? 0,
    unsubscribed: 0,
    clicks,
    botClicks,
    opens: counts.opens ?? 0,
    botOpens: counts.botOpens ?? 0,
  };
}
