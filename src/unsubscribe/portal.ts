import type { Models } from '../db/models/index.js';
import { membershipId } from '../db/models/membership.js';
import { findByIds } from '../db/group-read.js';
import type { AuditContext } from '../privacy/audit.js';
import { AppError } from '../shared/errors.js';
import type { CampaignLists } from './campaign-lists.js';
import type { UnsubscribeConfirmation } from './confirmation.js';
import type {
  Overview,
  PreferenceOutcome,
  PreferenceService,
  SubscriberLocale,
} from './preferences.js';
import type { UnsubscribeService } from './service.js';
import type { TokenClaims, TokenService } from './tokens.js';

export type PortalAction =
  | { action: 'one-click' }
  | { action: 'unsubscribe'; scope: 'list' | 'all' }
  | { action: 'preferences'; name: string; locale: SubscriberLocale; lists: string[] };

export interface NamedList {
  id: string;
  name: string;
}

export interface PortalView {
  /** Null when the person was erased: nothing is left to show or to mail. */
  overview: Overview | null;
  /** "This list": the token's list, or the lists of the campaign the mail came from. */
  target: NamedList[];
}

export type PortalOutcome =
  /** RFC 8058 one-click, durable: the sender reads no page, so no list name is looked up. */
  | { kind: 'accepted'; locale: string | undefined }
  | { kind: 'unsubscribed'; all: boolean; lists: NamedList[]; locale: string | undefined }
  | { kind: 'preferences'; view: PortalView; outcome: PreferenceOutcome };

const PURPOSES: ['unsubscribe', 'preferences'] = ['unsubscribe', 'preferences'];

/**
 * What /u/:token does, without HTTP: the page's reading (never a write: link scanners and
 * prefetchers open every URL in a mail) and the three things a POST can ask for.
 *
 * Scope of RFC 8058 one-click: RFC 8058 §3.2 and RFC 2369 speak of the list the message came from,
 * so one-click leaves "this list" — the token's list, or those of the campaign's lists the person
 * is on (all of the campaign's lists when they are on none of them any more). Only a link that
 * names no list or campaign leaves everything, because nothing narrower is known.
 */
export class UnsubscribePortal {
  constructor(
    private readonly models: Pick<Models, 'Membership' | 'List'>,
    private readonly tokens: TokenService,
    private readonly unsubscribe: UnsubscribeService,
    private readonly preferences: PreferenceService,
    private readonly campaignLists: CampaignLists,
    private readonly confirmation: UnsubscribeConfirmation,
    private readonly manageUrl: (token: string) => string,
  ) {}

  async view(token: string): Promise<PortalView> {
    const claims = this.tokens.verifyAny(PURPOSES, token);
    const [overview, target] = await Promise.all([
      this.preferences.overview(claims.subscriberId),
      this.target(claims),
    ]);
    return { overview, target: await this.names(target) };
  }

  async act(token: string, action: PortalAction, ctx: AuditContext): Promise<PortalOutcome> {
    const claims = this.tokens.verifyAny(PURPOSES, token);
    if (action.action === 'preferences') {
      const outcome = await this.preferences.apply(
        claims.subscriberId,
        { name: action.name, locale: action.locale, listIds: action.lists },
        ctx,
      );
      return { kind: 'preferences', view: await this.view(token), outcome };
    }

    const target =
      action.action === 'unsubscribe' && action.scope === 'all' ? [] : await this.target(claims);
    if (action.action === 'unsubscribe' && action.scope === 'list' && target.length === 0) {
      throw new AppError('validation_failed', 'scope: this link names no list');
    }
    const all = target.length === 0;
    const request = {
      subscriberId: claims.subscriberId,
      scope: all ? { all: true as const } : { all: false as const, listIds: target },
      channel: action.action === 'one-click' ? ('one-click' as const) : ('link' as const),
      campaignId: claims.campaignId,
    };
    const result = await this.unsubscribe.unsubscribe(request);
    const { subscriber } = result;
    const confirm = result.changed && subscriber && this.confirmation.enabled;
    // RFC 8058 senders read no page: list names only for a page or a confirmation mail.
    const lists = action.action === 'one-click' && !confirm ? [] : await this.names(target);
    if (confirm) {
      // Not awaited: the opt-out is already durable and the answer must not wait for a relay.
      void this.confirmation.send(
        subscriber,
        lists.map((l) => l.name),
        this.manageUrl(token),
      );
    }
    if (action.action === 'one-click') return { kind: 'accepted', locale: subscriber?.locale };
    return { kind: 'unsubscribed', all, lists, locale: subscriber?.locale };
  }

  private async target(claims: TokenClaims): Promise<string[]> {
    if (claims.listId) return [claims.listId];
    if (!claims.campaignId) return [];
    const campaignLists = await this.campaignLists(claims.campaignId);
    if (campaignLists.length === 0) return [];
    const memberOf = await findByIds<{ listId: unknown }>(
      this.models.Membership,
      campaignLists.map((listId) => membershipId(claims.subscriberId, listId)),
      { listId: 1 },
    );
    return memberOf.size > 0 ? [...memberOf.values()].map((m) => String(m.listId)) : campaignLists;
  }

  private async names(ids: string[]): Promise<NamedList[]> {
    // One `_id` read per list: only `_id` lookups are indexed everywhere (docs/database.md).
    const lists = await Promise.all(
      ids.map((id) => this.models.List.findById(id, { name: 1 }).lean()),
    );
    // A deleted list keeps its place in the scope; the person sees the lists that still exist.
    return ids.flatMap((id, i) => (lists[i] ? [{ id, name: lists[i].name }] : []));
  }
}
