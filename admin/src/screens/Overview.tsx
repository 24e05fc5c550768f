import { useEffect, useState } from 'react';
import { api } from '../api/client';
import { useT } from '../i18n';
import { useSession } from '../session';
import { Link } from '../ui';

type Lists = Awaited<ReturnType<typeof loadLists>>;
type Campaigns = Awaited<ReturnType<typeof loadCampaigns>>;
const loadLists = async () =>
  (await api.GET('/api/v1/lists', { params: { query: { limit: '10' } } })).data?.items ?? [];
const loadCampaigns = async () =>
  (await api.GET('/api/v1/campaigns', { params: { query: { limit: '5' } } })).data?.items ?? [];

/** What needs attention today: lists, recent campaigns, open requests, inbound to review. */
export function Overview() {
  const t = useT();
  const { can } = useSession();
  const [lists, setLists] = useState<Lists | null>(null);
  const [campaigns, setCampaigns] = useState<Campaigns | null>(null);
  const [requests, setRequests] = useState<{ open: number; overdue: number } | null>(null);
  const [inbound, setInbound] = useState<number | null>(null);

  useEffect(() => {
    if (can('lists.read')) void loadLists().then(setLists);
    if (can('campaigns.read')) void loadCampaigns().then(setCampaigns);
    if (can('privacy.read'))
      void api.GET('/api/v1/privacy/requests/counts').then(({ data }) => setRequests(data ?? null));
    if (can('inbound.read'))
      void api
        .GET('/api/v1/inbound', { params: { query: { status: 'needs_review', limit: '100' } } })
        .then(({ data }) => setInbound(data?.items.length ?? 0));
  }, [can]);

  return (
    <>
      <h1>{t.overview}</h1>
      <div className="cards">
        {lists ? (
          <section aria-labelledby="ov-lists">
            <h2 id="ov-lists">{t.lists}</h2>
            <ul className="plain">
              {lists.map((l) => (
                <li key={l.id}>
                  <Link to="lists">{l.name}</Link> — {l.counts.subscribed ?? 0} {t.subscribed}
                </li>
              ))}
            </ul>
          </section>
        ) : null}
        {campaigns ? (
          <section aria-labelledby="ov-campaigns">
            <h2 id="ov-campaigns">{t.recentCampaigns}</h2>
            <ul className="plain">
              {campaigns.map((c) => (
                <li key={c.id}>
                  <Link to={`campaigns/${c.id}`}>{c.name}</Link> — {t.campaignStatus[c.status]},{' '}
                  {c.stats.sent}/{c.stats.recipients}
                </li>
              ))}
            </ul>
          </section>
        ) : null}
        {requests ? (
          <section aria-labelledby="ov-requests">
            <h2 id="ov-requests">{t.openRequests}</h2>
            <p className={requests.overdue ? 'warn' : ''}>
              {requests.open} ({requests.overdue} {t.overdue})
            </p>
          </section>
        ) : null}
        {inbound !== null ? (
          <section aria-labelledby="ov-inbound">
            <h2 id="ov-inbound">{t.inboundWaiting}</h2>
            <p>
              <Link to="inbound">{inbound}</Link>
            </p>
          </section>
        ) : null}
      </div>
    </>
  );
}
