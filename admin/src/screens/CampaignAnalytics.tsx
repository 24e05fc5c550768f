import { useEffect, useRef, useState } from 'react';
import { api, messageOf } from '../api/client';
import type { Answer } from '../api/types';
import { useT, type TextKey } from '../i18n';
import { ErrorText } from '../ui';

type Analytics = Answer<'/api/v1/campaigns/{id}/stats'>;
type Point = Analytics['series'][number];
type SeriesKey = Exclude<keyof Point, 'start' | 'hours'>;

/** What the chart draws, each with a colour that keeps its contrast on white. */
const LINES: Array<{ key: SeriesKey; label: TextKey; colour: string }> = [
  { key: 'delivered', label: 'delivered', colour: '#0b5cab' },
  { key: 'clicks', label: 'clicks', colour: '#1a7f37' },
  { key: 'opens', label: 'opens', colour: '#8250df' },
  { key: 'hardBounced', label: 'hardBounced', colour: '#a4161a' },
  { key: 'complaints', label: 'complaints', colour: '#bc4c00' },
  { key: 'unsubscribed', label: 'unsubscribedStat', colour: '#4f5965' },
];

/**
 * What recipients did with a campaign, identifying no one: totals, clicks per link and a chart over
 * time. Loaded only on a campaign's page, and the chart library only when there is a series to
 * draw, so neither weighs on the admin's first load.
 */
export default function CampaignAnalytics({ id, live }: { id: string; live: boolean }) {
  const t = useT();
  const [stats, setStats] = useState<Analytics | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const load = async () => {
      const { data, error: failure } = await api.GET('/api/v1/campaigns/{id}/stats', {
        params: { path: { id } },
      });
      if (data) setStats(data);
      else setError(messageOf(failure));
    };
    void load();
    if (!live) return;
    const timer = setInterval(() => void load(), 5000);
    return () => clearInterval(timer);
  }, [id, live]);

  if (error) return <ErrorText message={error} />;
  if (!stats) return <p>{t.loading}</p>;
  const totals = stats.totals;
  const channels = Object.entries(stats.unsubscribedByChannel).filter(([, n]) => n > 0);
  return (
    <section className="panel" aria-labelledby="analytics-title" data-testid="campaign-analytics">
      <h2 id="analytics-title">{t.analytics}</h2>
      <p className="muted">{t.analyticsAnonymous}</p>
      <table className="bars">
        <caption className="visually-hidden">{t.analytics}</caption>
        <tbody>
          {(
            [
              [t.delivered, totals.delivered],
              [t.hardBounced, totals.hardBounced],
              [t.softBounced, totals.softBounced],
              [t.complaints, totals.complaints],
              [t.unsubscribedStat, totals.unsubscribed],
              [t.clicks, totals.clicks],
              [t.botClicks, totals.botClicks],
              ...(stats.tracking.opens ? [[t.opens, totals.opens] as [string, number]] : []),
            ] as Array<[string, number]>
          ).map(([label, value]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td>{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {channels.length > 0 ? (
        <p>
          {t.unsubscribedByChannel}: {channels.map(([channel, n]) => `${channel} ${n}`).join(', ')}
        </p>
      ) : null}
      {stats.tracking.opens ? <p className="muted">{stats.notes.opens}</p> : null}
      {stats.links.length > 0 ? (
        <div className="table-wrap">
          <table data-testid="campaign-links">
            <caption>{t.clicksPerLink}</caption>
            <thead>
              <tr>
                <th scope="col">{t.link}</th>
                <th scope="col">{t.clicks}</th>
                <th scope="col">{t.botClicks}</th>
              </tr>
            </thead>
            <tbody>
              {stats.links.map((l) => (
                <tr key={l.index}>
                  <td className="url">{l.url}</td>
                  <td>{l.clicks}</td>
                  <td>{l.botClicks}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {stats.series.length > 1 ? (
        <Chart series={stats.series} opens={stats.tracking.opens} />
      ) : null}
    </section>
  );
}

/** The series over time; the numbers are in the tables above, the chart shows their shape. */
function Chart({ series, opens }: { series: Point[]; opens: boolean }) {
  const t = useT();
  const lines = LINES.filter((l) => l.key !== 'opens' || opens);
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let chart: { destroy(): void } | undefined;
    let cancelled = false;
    void (async () => {
      const [{ default: UPlot }] = await Promise.all([
        import('uplot'),
        import('uplot/dist/uPlot.min.css'),
      ]);
      if (cancelled || !host.current) return;
      chart = new UPlot(
        {
          width: Math.max(280, host.current.clientWidth),
          height: 240,
          legend: { show: false },
          series: [{}, ...lines.map((l) => ({ label: t[l.label], stroke: l.colour, width: 2 }))],
        },
        [
          series.map((p) => new Date(p.start).getTime() / 1000),
          ...lines.map((l) => series.map((p) => p[l.key])),
        ],
        host.current,
      );
    })();
    return () => {
      cancelled = true;
      chart?.destroy();
    };
  }, [series, opens, t]);
  return (
    <figure className="chart">
      <div ref={host} role="img" aria-label={t.analyticsChart} />
      <figcaption>
        {t.analyticsChartCaption}{' '}
        {lines.map((l) => (
          <span key={l.key} className="swatch">
            <span aria-hidden="true" style={{ background: l.colour }} /> {t[l.label]}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
