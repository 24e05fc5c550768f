import { useEffect, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api/client';
import type { Answer, QueryOf } from '../api/types';
import { useT } from '../i18n';
import { useSession } from '../session';
import { DataTable } from '../components/DataTable';
import { useCursorPages } from '../components/paging';
import { CheckField, plainChoices, SelectField, TextField } from '../components/fields';
import { ErrorText, Status } from '../ui';

type Request = Answer<'/api/v1/privacy/requests'>['items'][number];
type RequestQuery = QueryOf<'/api/v1/privacy/requests'>;
const PAGE_SIZE = '20';
const fetchPage = (query: RequestQuery) =>
  api.GET('/api/v1/privacy/requests', { params: { query } });
const TYPES = ['access', 'rectification', 'erasure', 'objection'] as const;
const CHANNELS = ['email', 'letter', 'phone', 'web', 'in_person'] as const;

/** The register of open data-subject requests: due dates, access exports and erasure. */
export function PrivacyScreen() {
  const t = useT();
  const { can } = useSession();
  const [overdueOnly, setOverdueOnly] = useState(false);
  const {
    page,
    error: pageError,
    pager,
    search,
    reload: load,
  } = useCursorPages<RequestQuery, Request>({ limit: PAGE_SIZE }, fetchPage);
  const [draft, setDraft] = useState({
    type: 'access' as Request['type'],
    email: '',
    channel: 'email' as Request['channel'],
  });
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  function showOverdueOnly(only: boolean) {
    setOverdueOnly(only);
    search(only ? { limit: PAGE_SIZE, overdue: 'true' } : { limit: PAGE_SIZE });
  }

  async function register(e: FormEvent) {
    e.preventDefault();
    const { error: failure } = await api.POST('/api/v1/privacy/requests', { body: draft });
    setError(failure ? messageOf(failure) : null);
    if (!failure) setDraft({ ...draft, email: '' });
    load();
  }
  async function exportFor(r: Request) {
    const { data, error: failure } = await api.POST('/api/v1/privacy/subjects/export', {
      body: { requestId: r.id, format: 'json' },
    });
    if (!data) return setError(messageOf(failure));
    const a = document.createElement('a');
    a.href = URL.createObjectURL(
      new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }),
    );
    a.download = `access-export-${r.id}.json`;
    a.click();
    URL.revokeObjectURL(a.href);
  }
  async function erase(r: Request) {
    if (!r.email || !window.confirm(`${t.eraseConfirm} ${r.email}`)) return;
    const { error: failure } = await api.POST('/api/v1/privacy/subjects/erase', {
      body: { email: r.email, requestId: r.id },
    });
    setError(failure ? messageOf(failure) : null);
    if (!failure) setStatus(t.erased);
    load();
  }

  return (
    <>
      <h1>{t.privacy}</h1>
      <ErrorText message={error ?? pageError} />
      <Status message={status} />
      <CheckField label={t.overdueOnly} checked={overdueOnly} onChange={showOverdueOnly} />
      <DataTable
        caption={t.openRequests}
        testId="privacy-requests"
        rows={page?.items ?? null}
        rowKey={(r) => r.id}
        rowClass={(r) => (r.overdue ? 'overdue' : undefined)}
        columns={[
          { header: t.requestType, cell: (r) => r.type },
          { header: t.email, cell: (r) => r.emailMasked },
          {
            header: t.due,
            cell: (r) => (
              <>
                {r.dueDate} {r.overdue ? <strong className="warn">({t.overdue})</strong> : null}
              </>
            ),
          },
          { header: t.status, cell: (r) => r.status },
          {
            header: t.action,
            hiddenHeader: true,
            className: 'actions',
            cell: (r) => (
              <>
                <button type="button" onClick={() => void exportFor(r)}>
                  {t.exportData}
                </button>
                {can('privacy.write') && r.type === 'erasure' ? (
                  <button type="button" onClick={() => void erase(r)}>
                    {t.erase}
                  </button>
                ) : null}
              </>
            ),
          },
        ]}
      />
      {pager}
      {can('privacy.write') ? (
        <form className="panel" onSubmit={(e) => void register(e)} aria-labelledby="new-request">
          <h2 id="new-request">{t.newRequest}</h2>
          <SelectField
            label={t.requestType}
            value={draft.type}
            choices={plainChoices(TYPES)}
            onChange={(type) => setDraft({ ...draft, type })}
          />
          <TextField
            label={t.email}
            type="email"
            required
            value={draft.email}
            onChange={(email) => setDraft({ ...draft, email })}
          />
          <SelectField
            label={t.channel}
            value={draft.channel}
            choices={plainChoices(CHANNELS)}
            onChange={(channel) => setDraft({ ...draft, channel })}
          />
          <button type="submit" className="primary">
            {t.create}
          </button>
        </form>
      ) : null}
      <RetentionSection />
    </>
  );
}

type RetentionReports = Answer<'/api/v1/privacy/retention/reports'>;
type RetentionRun = RetentionReports['items'][number];

/** The retention rules' schedule, the reports of past runs, and a run (or dry run) now. */
function RetentionSection() {
  const t = useT();
  const { can } = useSession();
  const [reports, setReports] = useState<RetentionReports | null>(null);
  const [dryRun, setDryRun] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    void api.GET('/api/v1/privacy/retention/reports').then(({ data, error: failure }) => {
      setError(failure ? messageOf(failure) : null);
      setReports(data ?? null);
    });
  useEffect(load, []);

  async function run(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    const { error: failure } = await api.POST('/api/v1/privacy/retention/run', {
      body: { dryRun },
    });
    setBusy(false);
    setError(failure ? messageOf(failure) : null);
    load();
  }
  const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');

  return (
    <section className="panel" aria-labelledby="retention-title">
      <h2 id="retention-title">{t.retention}</h2>
      <ErrorText message={error} />
      {reports ? (
        <dl className="facts">
          <dt>{t.nextDue}</dt>
          <dd>{when(reports.schedule.nextDueAt)}</dd>
          <dt>{t.lastRun}</dt>
          <dd>{when(reports.schedule.lastRunAt)}</dd>
        </dl>
      ) : null}
      {can('privacy.write') ? (
        <form className="row" onSubmit={(e) => void run(e)}>
          <CheckField label={t.dryRun} checked={dryRun} onChange={setDryRun} />
          <button type="submit" className="primary" disabled={busy}>
            {t.runRetention}
          </button>
        </form>
      ) : null}
      <h3>{t.retentionRuns}</h3>
      <DataTable<RetentionRun>
        caption={t.retentionRuns}
        testId="retention-runs"
        rows={reports?.items ?? null}
        rowKey={(r) => r.id}
        columns={[
          { header: t.started, cell: (r) => when(r.startedAt) },
          {
            header: t.status,
            cell: (r) =>
              `${r.trigger}${r.dryRun ? ` · ${t.dryRun}` : ''}${r.error ? ` · ${r.error}` : ''}`,
          },
          {
            header: t.rule,
            cell: (r) => (
              <ul className="plain">
                {r.rules.map((rule) => (
                  <li key={rule.rule}>
                    <code>{rule.rule}</code>: {t.matched} {rule.matched}, {t.removed} {rule.removed}
                  </li>
                ))}
              </ul>
            ),
          },
        ]}
      />
    </section>
  );
}
