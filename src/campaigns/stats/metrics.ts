/**
 * What is counted per campaign (src/db/models/campaign-counts.ts). Every count is of mail or of
 * requests, never of a person: a link's clicks are the requests for its redirect.
 */
export type Metric =
  | 'delivered'
  | 'hardBounced'
  | 'softBounced'
  | 'complaints'
  | 'opens'
  | 'botOpens'
  | `click_${number}`
  | `botClick_${number}`;

export type Counts = Partial<Record<Metric, number>>;

export const clickMetric = (index: number, automated: boolean): Metric =>
  automated ? `botClick_${index}` : `click_${index}`;

/** The metrics the deliverability guard judges; a change in one of them asks for a check. */
export const GUARDED: readonly Metric[] = ['delivered', 'hardBounced', 'complaints'];

// An SMTP reply starts with its code; a 5xx refusal at SMTP time is a hard bounce as much as a
// later delivery status report is.
const PERMANENT = /^\s*5\d\d\b/;

/**
 * The counts of recorded send outcomes (src/campaigns/send/worker.ts): a delivery, a refusal (5xx:
 * hard, else soft), a deferral to be retried (soft). Skipped and unknown outcomes count as nothing.
 */
export function outcomeCounts(
  outcomes: Array<{ status: string; set: { smtpResponse?: unknown } }>,
) {
  const counts = { delivered: 0, hardBounced: 0, softBounced: 0 };
  for (const { status, set } of outcomes) {
    if (status === 'sent') counts.delivered += 1;
    else if (status === 'retry') counts.softBounced += 1;
    else if (status === 'failed') {
      if (PERMANENT.test(String(set.smtpResponse ?? ''))) counts.hardBounced += 1;
      else counts.softBounced += 1;
    }
  }
  return counts;
}
