import { xml } from '@codemirror/lang-xml';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { EditorState } from '@codemirror/state';
import { EditorView, keymap, lineNumbers } from '@codemirror/view';
import { lazy, Suspense, useEffect, useRef, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api/client';
import type { Answer } from '../api/types';
import { useT } from '../i18n';
import { navigate } from '../router';
import { useSession } from '../session';
import { ErrorText, Field, Link, Status } from '../ui';

type Campaign = Answer<'/api/v1/campaigns/{id}'>;
type Summary = Answer<'/api/v1/campaigns'>['items'][number];

const VARIABLES = [
  '{{subscriber.name}}',
  '{{subscriber.attributes.KEY}}',
  '{{unsubscribeUrl}}',
  '{{preferencesUrl}}',
  '{{org.name}}',
  '{{org.address}}',
  '{{campaign.subject}}',
];
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
  const [items, setItems] = useState<Summary[] | null>(null);
  const [lists, setLists] = useState<Array<{ id: string; name: string }>>([]);
  const [segments, setSegments] = useState<Array<{ id: string; name: string }>>([]);
  const [draft, setDraft] = useState({
    name: '',
    subject: '',
    lists: [] as string[],
    segmentId: '',
  });
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void api.GET('/api/v1/campaigns').then(({ data }) => setItems(data?.items ?? []));
    void api.GET('/api/v1/lists').then(({ data }) => setLists(data?.items ?? []));
    if (can('segments.read'))
      void api.GET('/api/v1/segments').then(({ data }) => setSegments(data?.items ?? []));
  }, [can]);

  async function create(e: FormEvent) {
    e.preventDefault();
    const { data, error: failure } = await api.POST('/api/v1/campaigns', {
      body: {
        name: draft.name,
        subject: draft.subject,
        mjml: STARTER,
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
          <Field label={t.name}>
            {(id) => (
              <input
                id={id}
                required
                value={draft.name}
                onChange={(e) => setDraft({ ...draft, name: e.target.value })}
              />
            )}
          </Field>
          <Field label={t.subject}>
            {(id) => (
              <input
                id={id}
                required
                value={draft.subject}
                onChange={(e) => setDraft({ ...draft, subject: e.target.value })}
              />
            )}
          </Field>
          <fieldset>
            <legend>{t.audience}</legend>
            {lists.map((l) => (
              <label key={l.id} className="check">
                <input
                  type="checkbox"
                  checked={draft.lists.includes(l.id)}
                  onChange={(e) =>
                    setDraft({
                      ...draft,
                      lists: e.target.checked
                        ? [...draft.lists, l.id]
                        : draft.lists.filter((x) => x !== l.id),
                    })
                  }
                />{' '}
                {l.name}
              </label>
            ))}
            <Field label={t.segment}>
              {(id) => (
                <select
                  id={id}
                  value={draft.segmentId}
                  onChange={(e) => setDraft({ ...draft, segmentId: e.target.value })}
                >
                  <option value="">{t.noSegment}</option>
                  {segments.map((s) => (
                    <option key={s.id} value={s.id}>
                      {s.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          </fieldset>
          <ErrorText message={error} />
          <button type="submit" className="primary">
            {t.create}
          </button>
        </form>
      ) : null}
      {items === null ? (
        <p>{t.loading}</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">{t.campaigns}</caption>
            <thead>
              <tr>
                <th scope="col">{t.name}</th>
                <th scope="col">{t.status}</th>
                <th scope="col">{t.sent}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={c.id}>
                  <td>
                    <Link to={`campaigns/${c.id}`}>{c.name}</Link>
                  </td>
                  <td>{t.campaignStatus[c.status]}</td>
                  <td>
                    {c.stats.sent} / {c.stats.recipients}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function MjmlEditor(props: { value: string; onChange(value: string): void; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;
  useEffect(() => {
    const view = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          lineNumbers(),
          history(),
          xml(),
          // Tab indents; Escape then Tab leaves the editor (CodeMirror's keyboard escape hatch).
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': props.label }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChange.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    return () => view.destroy();
    // The editor owns its text after the first render; later props.value changes come from it.
  }, []);
  return <div className="editor" ref={host} />;
}

function CampaignScreen({ id }: { id: string }) {
  const t = useT();
  const { can, me } = useSession();
  const [campaign, setCampaign] = useState<Campaign | null>(null);
  const [subject, setSubject] = useState('');
  const [mjml, setMjml] = useState<string | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [width, setWidth] = useState<'desktop' | 'mobile'>('desktop');
  const [testTo, setTestTo] = useState(me.email);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function load() {
    const { data, error: failure } = await api.GET('/api/v1/campaigns/{id}', {
      params: { path: { id } },
    });
    if (!data) return setError(messageOf(failure));
    setCampaign(data);
    setSubject((s) => s || data.subject);
    setMjml((m) => m ?? data.mjml);
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

  async function save(): Promise<boolean> {
    if (!editable || mjml === null) return true;
    const { error: failure } = await api.PATCH('/api/v1/campaigns/{id}', {
      ...path,
      body: { subject, mjml },
    });
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
    if (action === 'send' && (!(await save()) || !window.confirm(t.confirmSend))) return;
    if (action === 'resume' && campaign?.pausedByGuard && !window.confirm(t.confirmResumeGuard))
      return;
    const url = `/api/v1/campaigns/{id}/${action}` as const;
    const { error: failure } = await api.POST(url, { ...path, body: {} });
    setError(failure ? messageOf(failure) : null);
    await load();
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
            <Field label={t.subject}>
              {(fid) => (
                <input id={fid} value={subject} onChange={(e) => setSubject(e.target.value)} />
              )}
            </Field>
            <MjmlEditor value={mjml} onChange={setMjml} label={t.content} />
            <p className="variables">
              {t.variables}:{' '}
              {VARIABLES.map((v) => (
                <code key={v}>{v}</code>
              ))}
            </p>
            <div className="row">
              <button type="button" onClick={() => void showPreview()}>
                {t.preview}
              </button>
            </div>
            {can('campaigns.send') ? (
              <form onSubmit={(e) => void sendTest(e)}>
                <Field label={t.testTo}>
                  {(fid) => (
                    <input id={fid} value={testTo} onChange={(e) => setTestTo(e.target.value)} />
                  )}
                </Field>
                <div className="row">
                  <button type="submit">{t.testSend}</button>
                  <button type="button" className="primary" onClick={() => void act('send')}>
                    {t.send}
                  </button>
                </div>
              </form>
            ) : null}
          </section>
          <section className="panel" aria-labelledby="preview-title">
            <h2 id="preview-title">{t.preview}</h2>
            <div className="row" role="group" aria-label={t.preview}>
              <button
                type="button"
                aria-pressed={width === 'desktop'}
                onClick={() => setWidth('desktop')}
              >
                {t.desktop}
              </button>
              <button
                type="button"
                aria-pressed={width === 'mobile'}
                onClick={() => setWidth('mobile')}
              >
                {t.mobile}
              </button>
            </div>
            {preview !== null ? (
              // No scripts, no same-origin: the mail's HTML cannot reach the admin app.
              <iframe
                title={t.preview}
                sandbox=""
                srcDoc={preview}
                className={`preview ${width}`}
              />
            ) : null}
          </section>
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
