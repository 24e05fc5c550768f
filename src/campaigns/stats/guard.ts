import type { Types } from 'mongoose';
import type { Models } from '../../db/models/index.js';
import type { Logger } from '../../shared/logger.js';
import { countsByHour, totalOf } from './buckets.js';
import type { CampaignCounter } from './counter.js';
import { GUARDED, type Counts } from './metrics.js';

export interface GuardConfig {
  /** Hard bounces as a share of delivered mail above which a campaign pauses (0.05). */
  hardBounceShare: number;
  /** Complaints as a share of delivered mail above which a campaign pauses (0.003). */
  complaintShare: number;
  /** Delivered mails needed before shares are judged, so 1 bounce of 3 mails pauses nothing. */
  minDelivered: number;
}

/** Why the guard paused a campaign, with the counts it judged. */
export interface GuardVerdict {
  code: 'hard_bounces' | 'complaints';
  message: string;
  counts: { delivered: number; hardBounced: number; complaints: number };
}

/** How the guard pauses a campaign: the campaign capability's own pause. */
export interface GuardedCampaigns {
  /** Pauses a running campaign for this reason; false when it was not running. */
  pauseForGuard(campaignId: string, verdict: GuardVerdict): Promise<boolean>;
}

const percent = (share: number) => `${Math.round(share * 1000) / 10} %`;

/**
 * Protects the sender's reputation: after each written group of counts that touched a running
 * campaign's deliveries, bounces or complaints, judges its shares of delivered mail and pauses it
 * when one is over its line. After the operator resumes, only what came since the pause is judged.
 */
export class DeliverabilityGuard {
  private readonly checking = new Set<string>();
  /** Campaigns whose counts moved while they were being checked: checked once more after. */
  private readonly again = new Set<string>();

  constructor(
    private readonly models: Pick<Models, 'Campaign' | 'CampaignCounts'>,
    private readonly campaigns: GuardedCampaigns,
    private readonly config: GuardConfig,
    private readonly logger: Logger,
  ) {}

  /** Listens to the counter: every group that moved a guarded count asks for a check. */
  watch(counter: CampaignCounter): void {
    counter.onFlushed((flushed) => {
      for (const [campaignId, counts] of flushed)
        if (GUARDED.some((m) => counts[m])) this.schedule(campaignId);
    });
  }

  /** One check at a time per campaign, and none missed: a request meanwhile runs it again. */
  private schedule(campaignId: string): void {
    if (this.checking.has(campaignId)) {
      this.again.add(campaignId);
      return;
    }
    this.checking.add(campaignId);
    this.check(campaignId)
      .catch((err: unknown) => this.logger.warn({ err, campaignId }, 'guard check failed'))
      .finally(() => {
        this.checking.delete(campaignId);
        if (this.again.delete(campaignId)) this.schedule(campaignId);
      });
  }

  /** The verdict for a campaign now, pausing it when it is running and over a line. */
  async check(campaignId: string): Promise<GuardVerdict | null> {
    const campaign = await this.models.Campaign.findById(campaignId, {
      status: 1,
      guardAcknowledged: 1,
    }).lean();
    if (campaign?.status !== 'running') return null;
    const totals = totalOf(await countsByHour(this.models, campaign._id as Types.ObjectId));
    const verdict = this.judge(totals, (campaign.guardAcknowledged?.counts ?? {}) as Counts);
    if (!verdict) return null;
    if (await this.campaigns.pauseForGuard(campaignId, verdict))
      this.logger.warn({ campaignId, code: verdict.code }, verdict.message);
    return verdict;
  }

  /** Over a line, judging what came after `since` (the counts acknowledged at the last resume). */
  judge(totals: Counts, since: Counts): GuardVerdict | null {
    const counts = {
      delivered: totals.delivered ?? 0,
      hardBounced: totals.hardBounced ?? 0,
      complaints: totals.complaints ?? 0,
    };
    const delivered = counts.delivered - (since.delivered ?? 0);
    if (delivered < this.config.minDelivered) return null;
    const hardShare = (counts.hardBounced - (since.hardBounced ?? 0)) / delivered;
    const complaintShare = (counts.complaints - (since.complaints ?? 0)) / delivered;
    if (hardShare > this.config.hardBounceShare)
      return {
        code: 'hard_bounces',
        message: `hard bounces are ${percent(hardShare)} of delivered mail, over the limit of ${percent(this.config.hardBounceShare)}`,
        counts,
      };
    if (complaintShare > this.config.complaintShare)
      return {
        code: 'complaints',
        message: `complaints are ${percent(complaintShare)} of delivered mail, over the limit of ${percent(this.config.complaintShare)}`,
        counts,
      };
    return null;
  }
}
