import { lazy, Suspense, useEffect, useRef, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api/client';
import type { Answer, QueryOf } from '../api/types';
import { DataTable } from '../components/DataTable';
import { CheckField, SelectField, TextField } from '../components/fields';
import { lineErrorsOf, MjmlEditor, type LineError } from '../components/MjmlEditor';
import { useCursorPages } from '../components/paging';
import { PREVIEW_DELAY_MS, PreviewPane } from '../components/PreviewPane';
import { useT } from '../i18n';
import { navigate } from '../router';
import { useSession } from '../session';
import { ErrorText, Link, Status } from '../ui';

type Campaign = Answer<'/api/v1/campaigns/{id}'>;
type Summary = Answer<'/api/v1/campaigns'>['items'][number];
type Query = QueryOf<'/api/v1/campaigns'>;
const fetchPage = (query: Query) => api.GET('/api/v1/campaigns', { params: { query } });
const STARTER =
  '<mj-section>\n  <mj-column>\n    <mj-text>Hei {{subscriber.name}}!</mj-text>\n' +
  '    <mj-text><a href="{{unsubscribeUrl}}">Peru tilaus</a></mj-text>\n  </mj-column>\n</mj-section>\n';
const ACTIVE = ['scheduled', 'running'];
// Its own chunk, with the chart library behind a further import: the first load stays small.
const CampaignAnalytics = lazy(() => import('./CampaignAnalytics'));

export default function CampaignsScreen({ id }: { id: string | undefined }) {
  return id ? <CampaignScreen id={id} /> : <CampaignList />;
}

function CampaignList() {
  const t = useT();
  const { can } = useSession();
  const { page, pager } = useCursorPages<Query, Summary>({ limit: '20' }, fetchPage);
  const [lists, setLists] = useState<Array<{ id: string; name: string }>>([]);
  const [segments, setSegments] = useState<Array<{ id: string; name: string }>>([]);
  const [templates, setTemplates] = useState<Array<{ id: string; name: string }>>([]);
  const [draft, setDraft] = useState({
    name: '',
    subject: '',
    lists: [] as string[],
    segmentId: '',
    templateId: '',
  });
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!can('campaigns.write')) return;
    const first = { params: { query: { limit: '200' } } };
    void api.GET('/api/v1/lists', first).then(({ data }) => setLists(data?.items ?? []));
    void api.GET('/api/v1/templates', first).then(({ data }) => setTemplates(data?.items ?? []));
    if (can('segments.read'))
      void api.GET('/api/v1/segments', first).then(({ data }) => setSegments(data?.items ?? []));
  }, [can]);

  async function create(e: FormEvent) {
    e.preventDefault();
    const { data, error: failure } = await api.POST('/api/v1/campaigns', {
      body: {
        name: draft.name,
        subject: draft.subject,
        ...(draft.templateId ? { templateId: draft.templateId } : { mjml: STARTER }),
        lists: draft.lists,
        ...(draft.segmentId ? { segmentId: draft.segmentId } : {}),
      },
    });
    if (data) navigate(`campaigns/${data.id}`);
    else setError(messageOf(failure));
  }

  return (
    <>
      <h1>{t.campaigns}</h1>
      {can('campaigns.write') ? (
        <form className="panel" onSubmit={(e) => void create(e)} aria-labelledby="new-campaign">
          <h2 id="new-campaign">{t.newCampaign}</h2>
          <TextField
            label={t.name}
            required
            value={draft.name}
            onChange={(name) => setDraft({ ...draft, name })}
          />
          <TextField
            label={t.subject}
            required
            value={draft.subject}
            onChange={(subject) => setDraft({ ...draft, subject })}
          />
          <SelectField
            label={t.fromTemplate}
            value={draft.templateId}
            empty={t.blankTemplate}
            choices={templates.map((x) => ({ value: x.id, label: x.name }))}
            onChange={(templateId) => setDraft({ ...draft, templateId })}
          />
          <fieldset>
            <legend>{t.audience}</legend>
            {lists.map((l) => (
              <CheckField
                key={l.id}
                label={l.name}
                checked={draft.lists.includes(l.id)}
                onChange={(checked) =>
                  setDraft({
                    ...draft,
                    lists: checked ? [...draft.lists, l.id] : draft.lists.filter((x) => x !== l.id),
                  })
                }
              />
            ))}
            <SelectField
              label={t.segment}
              value={draft.segmentId}
              empty={t.noSegment}
              choices={segments.map((x) => ({ value: x.id, label: x.name }))}
              onChange={(segmentId) => setDraft({ ...draft, segmentId })}
            />
          </fieldset>
          <ErrorText message={error} />
          <button type="submit" className="primary">
            {t.create}
          </button>
        </form>
      ) : null}
      <DataTable
        caption={t.campaigns}
        rows={page?.items ?? null}
        rowKey={(c) => c.id}
        columns={[
          { header: t.name, cell: (c) => <Link to={`campaigns/${c.id}`}>{c.name}</Link> },
          { header: t.status, cell: (c) => t.campaignStatus[c.status] },
          { header: t.sent, cell: (c) => `${c.stats.sent} / ${c.stats.recipients}` },
        ]}
      />
      {pager}
    </>
  );
}

function CampaignScreen({ id }: { id: string }) {
  const t = useT();
  const { can, me } = useSession();
  const [campaign, setCampaign] = useState<Campaign | null>(null);
  const [subject, setSubject] = useState('');
  const [mjml, setMjml] = useState<string | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [problems, setProblems] = useState<LineError[]>([]);
  const [when, setWhen] = useState<'now' | 'later'>('now');
  const [sendAt, setSendAt] = useState('');
  const [testTo, setTestTo] = useState(me.email);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const loaded = useRef(false);

  async function load() {
    const { data, error: failure } = await api.GET('/api/v1/campaigns/{id}', {
      params: { path: { id } },
    });
    if (!data) return setError(messageOf(failure));
    setCampaign(data);
    if (loaded.current) return;
    // The first load fills the editor, and shows a send time stored earlier so a save keeps it.
    loaded.current = true;
    setSubject(data.subject);
    setMjml(data.mjml);
    if (data.sendAt) {
      setWhen('later');
      setSendAt(localInputValue(new Date(data.sendAt)));
    }
  }
  useEffect(() => void load(), [id]);
  // Progress is polled while the worker sends.
  useEffect(() => {
    if (!campaign || !ACTIVE.includes(campaign.status)) return;
    const timer = setInterval(() => void load(), 1000);
    return () => clearInterval(timer);
  }, [campaign?.status]);

  const path = { params: { path: { id } } };
  const editable = campaign?.status === 'draft' && can('campaigns.write');

  // Live preview of the text as typed (not yet saved); MJML problems show at their lines.
  useEffect(() => {
    if (!editable || mjml === null) return;
    let current = true;
    const timer = setTimeout(() => {
      void api
        .POST('/api/v1/campaigns/{id}/preview', {
          ...path,
          body: { mjml, ...(subject.trim() ? { subject } : {}) },
        })
        .then(({ data, error: failure }) => {
          if (!current) return;
          if (data) setPreview(data.html);
          setProblems(failure ? lineErrorsOf(failure) : []);
          setError(failure && lineErrorsOf(failure).length === 0 ? messageOf(failure) : null);
        });
    }, PREVIEW_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [editable, mjml, subject]);

  /** Saves content and the send time; problems in the MJML come back at their lines. */
  async function save(): Promise<boolean> {
    if (!editable || mjml === null) return true;
    const at = when === 'later' && sendAt ? new Date(sendAt).toISOString() : null;
    const { error: failure } = await api.PATCH('/api/v1/campaigns/{id}', {
      ...path,
      body: { subject, mjml, sendAt: at },
    });
    setProblems(lineErrorsOf(failure));
    setError(failure ? messageOf(failure) : null);
    return !failure;
  }
  async function showPreview() {
    if (!(await save())) return;
    const { data, error: failure } = await api.POST('/api/v1/campaigns/{id}/preview', {
      ...path,
      body: {},
    });
    if (data) setPreview(data.html);
    else setError(messageOf(failure));
  }
  async function sendTest(e: FormEvent) {
    e.preventDefault();
    if (!(await save())) return;
    const emails = testTo
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const { data, error: failure } = await api.POST('/api/v1/campaigns/{id}/test', {
      ...path,
      body: { emails },
    });
    if (data) setStatus(`${t.testSent} ${data.sent.join(', ')}`);
    else setError(messageOf(failure));
  }
  async function act(action: 'send' | 'pause' | 'resume' | 'cancel') {
    if (action === 'send') {
      const question =
        when === 'later'
          ? `${t.confirmSchedule} ${new Date(sendAt).toLocaleString()}?`
          : t.confirmSend;
      if (!(await save()) || !window.confirm(question)) return;
    }
    if (action === 'resume' && campaign?.pausedByGuard && !window.confirm(t.confirmResumeGuard))
      return;
    const url = `/api/v1/campaigns/{id}/${action}` as const;
    const { error: failure } = await api.POST(url, { ...path, body: {} });
    setError(failure ? messageOf(failure) : null);
    await load();
  }
  async function retryUnknown() {
    const { data, error: failure } = await api.POST('/api/v1/campaigns/{id}/retry-unknown', {
      ...path,
      body: {},
    });
    setError(failure ? messageOf(failure) : null);
    if (data) {
      setStatus(`${t.requeued} ${data.requeued}`);
      setCampaign({ ...data.campaign, mjml: campaign?.mjml ?? '' });
    }
  }

  if (error && !campaign) return <ErrorText message={error} />;
  if (!campaign || mjml === null) return <p>{t.loading}</p>;
  const s = campaign.stats;
  return (
    <>
      <p>
        <Link to="campaigns">← {t.campaigns}</Link>
      </p>
      <h1>{campaign.name}</h1>
      <p>
        {t.status}:{' '}
        <strong data-testid="campaign-status" data-status={campaign.status}>
          {t.campaignStatus[campaign.status]}
        </strong>
        {campaign.status === 'scheduled' && campaign.sendAt ? (
          <>
            {' '}
            · {t.scheduledFor}{' '}
            <time dateTime={campaign.sendAt}>{new Date(campaign.sendAt).toLocaleString()}</time>
          </>
        ) : null}
      </p>
      {campaign.pausedByGuard ? (
        <div className="panel warning" role="alert" data-testid="guard-paused">
          <strong>{t.guardPaused}</strong>: {campaign.pausedByGuard.message} (
          {new Date(campaign.pausedByGuard.at).toLocaleString()})
        </div>
      ) : null}
      {editable ? (
        <div className="split">
          <section className="panel" aria-labelledby="content-title">
            <h2 id="content-title">{t.content}</h2>
            <TextField label={t.subject} value={subject} onChange={setSubject} />
            <MjmlEditor value={mjml} onChange={setMjml} label={t.content} errors={problems} />
            <div className="row">
              <button type="button" onClick={() => void showPreview()}>
                {t.preview}
              </button>
            </div>
            {can('campaigns.send') ? (
              <form onSubmit={(e) => void sendTest(e)}>
                <TextField label={t.testTo} value={testTo} onChange={setTestTo} />
                <div className="row">
                  <button type="submit">{t.testSend}</button>
                </div>
                <fieldset>
                  <legend>{t.whenToSend}</legend>
                  <label className="check">
                    <input
                      type="radio"
                      name="when"
                      checked={when === 'now'}
                      onChange={() => setWhen('now')}
                    />{' '}
                    {t.sendNow}
                  </label>
                  <label className="check">
                    <input
                      type="radio"
                      name="when"
                      checked={when === 'later'}
                      onChange={() => setWhen('later')}
                    />{' '}
                    {t.sendLater}
                  </label>
                  {when === 'later' ? (
                    <TextField
                      label={t.sendAt}
                      type="datetime-local"
                      required
                      value={sendAt}
                      onChange={setSendAt}
                    />
                  ) : null}
                </fieldset>
                <div className="row">
                  <button
                    type="button"
                    className="primary"
                    disabled={when === 'later' && !sendAt}
                    onClick={() => void act('send')}
                  >
                    {when === 'later' ? t.schedule : t.send}
                  </button>
                </div>
              </form>
            ) : null}
          </section>
          <PreviewPane html={preview} />
        </div>
      ) : null}
      <ErrorText message={error} />
      <Status message={status} />
      {campaign.status !== 'draft' ? (
        <section className="panel" aria-labelledby="stats-title">
          <h2 id="stats-title">{t.stats}</h2>
          <progress max={1} value={campaign.progress} aria-label={t.progress}>
            {Math.round(campaign.progress * 100)} %
          </progress>
          {can('campaigns.send') ? (
            <div className="row">
              {campaign.status === 'running' ? (
                <button type="button" onClick={() => void act('pause')}>
                  {t.pause}
                </button>
              ) : null}
              {campaign.status === 'paused' ? (
                <button type="button" onClick={() => void act('resume')}>
                  {campaign.pausedByGuard ? t.resumeKnowingly : t.resume}
                </button>
              ) : null}
              {['running', 'paused', 'scheduled'].includes(campaign.status) ? (
                <button type="button" onClick={() => void act('cancel')}>
                  {t.cancelSending}
                </button>
              ) : null}
              {s.unknown > 0 ? (
                <button type="button" onClick={() => void retryUnknown()}>
                  {t.retryUnknown} ({t.unknownStat}: {s.unknown})
                </button>
              ) : null}
            </div>
          ) : null}
          <Bars
            rows={[
              [t.recipients, s.recipients],
              [t.sent, s.sent],
              [t.failed, s.failed],
              [t.skipped, s.skipped],
              [t.unsubscribedStat, s.unsubscribed],
              [t.bouncedStat, s.bounced],
            ]}
          />
        </section>
      ) : null}
      {campaign.status !== 'draft' && campaign.status !== 'scheduled' ? (
        <Suspense fallback={<p>{t.loading}</p>}>
          <CampaignAnalytics id={id} live={ACTIVE.includes(campaign.status)} />
        </Suspense>
      ) : null}
    </>
  );
}

/** A date as a datetime-local field shows it: the browser's local time, to the minute. */
function localInputValue(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}` +
    `T${two(d.getHours())}:${two(d.getMinutes())}`
  );
}

/** A bar chart as a table with bars: screen readers read the numbers, eyes see the lengths. */
function Bars({ rows }: { rows: Array<[string, number]> }) {
  const max = Math.max(1, ...rows.map(([, v]) => v));
  return (
    <table className="bars" data-testid="campaign-stats">
      <tbody>
        {rows.map(([label, value]) => (
          <tr key={label}>
            <th scope="row">{label}</th>
            <td>{value}</td>
            <td aria-hidden="true">
              <span className="bar" style={{ width: `${(value / max) * 100}%` }} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
