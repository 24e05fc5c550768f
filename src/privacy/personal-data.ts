import type { Types } from 'mongoose';

/**
 * The one map of where personal data lives (GDPR Art. 30 in code form). Access export, erasure
 * and retention all walk this list, so a collection that holds personal data and is missing here
 * is missing everywhere — add it here first.
 *
 * Collections are reached by name through `connection.collection(name)`, not through models, so
 * this list does not depend on the capabilities that own them.
 */

/**
 * What identifies the people being exported or erased: one person for a request, a batch of
 * contacts for the retention run (so it costs a few queries per batch, not per person).
 */
export interface SubjectKeys {
  emails: string[];
  emailHashes: string[];
  subscriberIds: Types.ObjectId[];
}

export type EraseAction =
  /** Nothing in the document is needed once the person is gone. */
  | { kind: 'delete' }
  /** The record is needed (proof, statistics); only these personal fields go. */
  | { kind: 'unset'; fields: string[] }
  /** Audit entries: who/what/when stays; `details` naming the person are replaced. */
  | { kind: 'redact-details' }
  /** Holds no personal data beyond a pseudonymous id or keyed hash, and is needed. */
  | { kind: 'keep'; why: string };

export interface PersonalDataEntry {
  /** Section name in the access export and step name in erasure jobs. */
  key: string;
  collection: string;
  title: string;
  match(k: SubjectKeys): Record<string, unknown> | null;
  erase: EraseAction;
  /** Fields never copied into an export as stored (sealed values are shown per permission). */
  omit?: string[];
  /** Whole documents older than the configured period go in the retention run. */
  retention?: { rule: string; dateField: string; months: 'inboundMonths' | 'deliveryMonths' };
}

const bySubscriber =
  (field = 'subscriberId') =>
  (k: SubjectKeys) =>
    k.subscriberIds.length > 0 ? { [field]: { $in: k.subscriberIds } } : null;

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const anyOf = (emails: string[]) => `(?:${emails.map(escapeRegex).join('|')})`;

export const COLLECTIONS = {
  subscribers: 'subscribers',
  memberships: 'memberships',
  consentEvents: 'consent_events',
  consentTexts: 'consent_texts',
  unsubscribeEvents: 'unsubscribe_events',
  suppressions: 'suppressions',
  suppressionStamps: 'suppression_stamps',
  orders: 'orders',
  audit: 'audit_log',
  privacyRequests: 'privacy_requests',
  // Owned by the sending and inbound capabilities.
  deliveries: 'campaign_recipients',
  sendClaims: 'claims',
  inboundMessages: 'inbound_messages',
  inboundClaims: 'inbound_claims',
  bounceCounts: 'bounce_counts',
  // Owned by automations and the domain-event outbox.
  enrolments: 'automation_enrolments',
  stepRuns: 'automation_step_runs',
  domainEvents: 'domain_events',
} as const;

/**
 * In erasure order. The suppression is written before any of these (src/privacy/erasure.ts);
 * audit details are redacted while the subscriber still exists to name what to look for; the
 * subscriber itself goes last, so a crashed erasure can always find what is left.
 */
export const PERSONAL_DATA: readonly PersonalDataEntry[] = [
  {
    key: 'auditEntries',
    collection: COLLECTIONS.audit,
    title: 'Audit entries about the person',
    match: (k) =>
      k.subscriberIds.length ? { subjectId: { $in: k.subscriberIds.map(String) } } : null,
    erase: { kind: 'redact-details' },
  },
  {
    key: 'deliveries',
    collection: COLLECTIONS.deliveries,
    title: 'Campaign deliveries',
    match: bySubscriber(),
    // The people a campaign's snapshot left out, by id (src/db/models/campaign.ts), kept for
    // SEND_RECIPIENT_RECORD_DAYS; rows of older versions may hold the relay's answer, which can
    // quote the address, so it goes.
    erase: { kind: 'unset', fields: ['smtpResponse'] },
    retention: { rule: 'delivery-logs', dateField: 'sentAt', months: 'deliveryMonths' },
  },
  {
    key: 'sendClaims',
    collection: COLLECTIONS.sendClaims,
    title: 'Claims of sending steps',
    // Versions before the window protocol (docs/sending.md) wrote one per send attempt,
    // `send:<campaign>:<subscriber>:<attempt>`; the batch and state-version claims name no person.
    match: (k) =>
      k.subscriberIds.length > 0
        ? { _id: { $regex: `^send:[0-9a-f]{24}:(?:${k.subscriberIds.map(String).join('|')}):` } }
        : null,
    erase: { kind: 'delete' },
    retention: { rule: 'send-claims', dateField: 'at', months: 'deliveryMonths' },
  },
  {
    key: 'inboundMessages',
    collection: COLLECTIONS.inboundMessages,
    title: 'Messages received from the person',
    // `from` is the header as received ("Name <address>"), so the address is searched within it.
    match: (k) => ({
      $or: [
        ...(k.subscriberIds.length > 0 ? [{ subscriberId: { $in: k.subscriberIds } }] : []),
        ...(k.emails.length > 0
          ? [
              { from: { $regex: anyOf(k.emails), $options: 'i' } },
              { mailFrom: { $regex: `^${anyOf(k.emails)}$`, $options: 'i' } },
            ]
          : []),
      ],
    }),
    erase: { kind: 'delete' },
    retention: { rule: 'inbound-mail', dateField: 'receivedAt', months: 'inboundMonths' },
  },
  {
    key: 'inboundClaims',
    collection: COLLECTIONS.inboundClaims,
    title: 'Decisions on received mail (confirmation slots, staff action claims)',
    // A confirmation slot's key carries the keyed hash of the address it mailed
    // (src/inbound/pipeline.ts); action claims name only a message id and go with the retention.
    match: (k) =>
      k.emailHashes.length > 0
        ? { _id: { $regex: `^confirm:(?:${k.emailHashes.map(escapeRegex).join('|')}):` } }
        : null,
    erase: { kind: 'delete' },
    retention: { rule: 'inbound-claims', dateField: 'at', months: 'inboundMonths' },
  },
  {
    key: 'bounceCounts',
    collection: COLLECTIONS.bounceCounts,
    title: 'Bounce counters',
    match: bySubscriber(),
    erase: { kind: 'delete' },
  },
  {
    key: 'consentEvents',
    collection: COLLECTIONS.consentEvents,
    title: 'Consent ledger',
    match: bySubscriber(),
    // Art. 7(1) makes the operator prove consent for mail already sent and Art. 17(3)(e) lets it
    // keep what defends a legal claim: the events stay (what, which list, when, which wording),
    // tied only to the erased id. IP address and user agent are not needed for that proof.
    erase: { kind: 'unset', fields: ['ip', 'userAgent'] },
  },
  {
    key: 'unsubscribeEvents',
    collection: COLLECTIONS.unsubscribeEvents,
    title: 'Unsubscribe events',
    match: bySubscriber(),
    erase: {
      kind: 'keep',
      why: 'proof of when mail had to stop; holds only the erased id, lists and campaign',
    },
  },
  {
    key: 'orders',
    collection: COLLECTIONS.orders,
    title: 'Order facts',
    match: bySubscriber(),
    // Copies used for segmentation only; the shop's own order register keeps the bookkeeping.
    erase: { kind: 'delete' },
  },
  {
    key: 'memberships',
    collection: COLLECTIONS.memberships,
    title: 'List memberships',
    match: bySubscriber(),
    erase: { kind: 'delete' },
  },
  {
    key: 'suppressions',
    collection: COLLECTIONS.suppressions,
    title: 'Suppressions (by keyed hash of the address)',
    match: (k) => ({ emailHash: { $in: k.emailHashes } }),
    erase: {
      kind: 'keep',
      why: 'Art. 17(3)/21: the keyed hash is what keeps an erased person from being mailed again',
    },
  },
  {
    key: 'suppressionStamps',
    collection: COLLECTIONS.suppressionStamps,
    title: 'Latest opt-out per suppression (by keyed hash of the address)',
    match: (k) =>
      k.emailHashes.length > 0 ? { _id: { $regex: `^${anyOf(k.emailHashes)}:` } } : null,
    erase: {
      kind: 'keep',
      why: 'the time of the latest opt-out keeps an earlier resubscribe from lifting its suppression',
    },
  },
  {
    key: 'automationEnrolments',
    collection: COLLECTIONS.enrolments,
    title: 'Automations the person went through',
    match: bySubscriber(),
    erase: { kind: 'delete' },
  },
  {
    key: 'automationSteps',
    collection: COLLECTIONS.stepRuns,
    title: 'Steps of automations taken for the person',
    match: bySubscriber(),
    erase: { kind: 'delete' },
  },
  {
    key: 'domainEvents',
    collection: COLLECTIONS.domainEvents,
    title: 'Events told to webhooks and automations',
    match: bySubscriber(),
    erase: {
      kind: 'keep',
      why: 'ids and facts only (no address or name); the erasure itself is told by one of them',
    },
  },
  {
    key: 'privacyRequests',
    collection: COLLECTIONS.privacyRequests,
    title: 'Data protection requests',
    match: (k) => ({ subjectEmailHash: { $in: k.emailHashes } }),
    // Art. 5(2): the register shows the request was answered; hash and masked address suffice.
    erase: { kind: 'unset', fields: ['subjectEmail'] },
  },
  {
    key: 'subscribers',
    collection: COLLECTIONS.subscribers,
    title: 'Contact data',
    match: (k) => (k.subscriberIds.length ? { _id: { $in: k.subscriberIds } } : null),
    erase: { kind: 'delete' },
    omit: ['hetuSealed'],
  },
];
