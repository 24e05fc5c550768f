import { Types } from 'mongoose';
import type { Models } from '../../db/models/index.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import type { TokenService } from '../../unsubscribe/tokens.js';
import { automatedReason, type RequestSignals } from './bots.js';
import type { CampaignCounter } from './counter.js';
import { clickMetric } from './metrics.js';

interface TrackedCampaign {
  links: string[];
  startedAt: Date | null;
  finishedAt: Date | null;
  status: string;
}

// Campaign facts change rarely (links never once sending starts), so clicks read them from memory.
const CACHE_MS = 10_000;
const CACHE_MAX = 2000;
// Scanners follow a mail's links within seconds of its delivery; the campaign's delivery runs from
// its start to its end, and mail accepted at the end is scanned a little later.
const AFTER_DELIVERY_MS = 120_000;

/** Clicks on wrapped links and loads of the open pixel: counted per campaign, never per person. */
export class LinkRedirects {
  private readonly cache = new Map<
    string,
    { until: number; campaign: Promise<TrackedCampaign | null> }
  >();

  constructor(
    private readonly models: Pick<Models, 'Campaign'>,
    private readonly tokens: TokenService,
    private readonly counter: CampaignCounter,
    private readonly clock: Clock,
  ) {}

  /** The URL a click token stands for, counted as a person's or a machine's click. */
  async click(token: string, req: RequestSignals): Promise<string> {
    const { campaignId, index } = this.tokens.verifyLink('click', token);
    const campaign = await this.campaign(campaignId);
    const url = campaign?.links[index];
    if (!campaign || !url) throw new AppError('not_found', 'this link no longer leads anywhere');
    const now = this.clock.now();
    const automated = automatedReason(req, this.delivering(campaign, now)) !== null;
    this.counter.add(campaignId, { [clickMetric(index, automated)]: 1 }, now);
    return url;
  }

  /** Counts a load of the open pixel (an indicator only: privacy proxies load every image). */
  async open(token: string, req: RequestSignals): Promise<void> {
    const { campaignId } = this.tokens.verifyLink('open', token);
    const campaign = await this.campaign(campaignId);
    if (!campaign) return;
    const now = this.clock.now();
    const automated = automatedReason(req, this.delivering(campaign, now)) !== null;
    this.counter.add(campaignId, automated ? { botOpens: 1 } : { opens: 1 }, now);
  }

  private delivering(c: TrackedCampaign, now: Date): boolean {
    if (!c.startedAt || now < c.startedAt) return false;
    if (c.status === 'running') return true;
    const end = c.finishedAt ?? c.startedAt;
    return now.getTime() - end.getTime() <= AFTER_DELIVERY_MS;
  }

  private campaign(id: string): Promise<TrackedCampaign | null> {
    const now = Date.now();
    const hit = this.cache.get(id);
    if (hit && hit.until > now) return hit.campaign;
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    const campaign = this.models.Campaign.findById(new Types.ObjectId(id), {
      links: 1,
      startedAt: 1,
      finishedAt: 1,
      status: 1,
    })
      .lean()
      .then((c) =>
        c
          ? {
              links: c.links ?? [],
              startedAt: c.startedAt ?? null,
              finishedAt: c.finishedAt ?? null,
              status: c.status,
            }
          : null,
      );
    this.cache.set(id, { until: now + CACHE_MS, campaign });
    // A failed read is not remembered.
    campaign.catch(() => this.cache.delete(id));
    return campaign;
  }
}
