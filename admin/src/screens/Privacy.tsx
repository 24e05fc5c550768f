import { useEffect, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api/client';
import type { Answer } from '../api/types';
import { useT } from '../i18n';
import { useSession } from '../session';
import { ErrorText, Field, Status } from '../ui';

type Request = Answer<'/api/v1/privacy/requests'>['items'][number];
const TYPES = ['access', 'rectification', 'erasure', 'objection'] as const;
const CHANNELS = ['email', 'letter', 'phone', 'web', 'in_person'] as const;

/** The register of open data-subject requests: due dates, access exports and erasure. */
export function PrivacyScreen() {
  const t = useT();
  const { can } = useSession();
  const [requests, setRequests] = useState<Request[] | null>(null);
  const [draft, setDraft] = useState({
    type: 'access' as Request['type'],
    email: '',
    channel: 'email' as Request['channel'],
  });
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  const load = () =>
    void api.GET('/api/v1/privacy/requests').then(({ data, error: failure }) => {
      setError(failure ? messageOf(failure) : null);
      setRequests(data?.items ?? []);
    });
  useEffect(load, []);

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
      <ErrorText message={error} />
      <Status message={status} />
      {requests === null ? (
        <p>{t.loading}</p>
      ) : requests.length === 0 ? (
        <p>{t.noResults}</p>
      ) : (
        <div className="table-wrap">
          <table data-testid="privacy-requests">
            <caption className="visually-hidden">{t.openRequests}</caption>
            <thead>
              <tr>
                <th scope="col">{t.requestType}</th>
                <th scope="col">{t.email}</th>
                <th scope="col">{t.due}</th>
                <th scope="col">{t.status}</th>
                <th scope="col">
                  <span className="visually-hidden">{t.action}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {requests.map((r) => (
                <tr key={r.id} className={r.overdue ? 'overdue' : undefined}>
                  <td>{r.type}</td>
                  <td>{r.emailMasked}</td>
                  <td>
                    {r.dueDate} {r.overdue ? <strong className="warn">({t.overdue})</strong> : null}
                  </td>
                  <td>{r.status}</td>
                  <td className="actions">
                    <button type="button" onClick={() => void exportFor(r)}>
                      {t.exportData}
                    </button>
                    {can('privacy.write') && r.type === 'erasure' ? (
                      <button type="button" onClick={() => void erase(r)}>
                        {t.erase}
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {can('privacy.write') ? (
        <form className="panel" onSubmit={(e) => void register(e)} aria-labelledby="new-request">
          <h2 id="new-request">{t.newRequest}</h2>
          <Field label={t.requestType}>
            {(id) => (
              <select
                id={id}
                value={draft.type}
                onChange={(e) => setDraft({ ...draft, type: e.target.value as Request['type'] })}
              >
                {TYPES.map((x) => (
                  <option key={x}>{x}</option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t.email}>
            {(id) => (
              <input
                id={id}
                type="email"
                required
                value={draft.email}
                onChange={(e) => setDraft({ ...draft, email: e.target.value })}
              />
            )}
          </Field>
          <Field label={t.channel}>
            {(id) => (
              <select
                id={id}
                value={draft.channel}
                onChange={(e) =>
                  setDraft({ ...draft, channel: e.target.value as Request['channel'] })
                }
              >
                {CHANNELS.map((x) => (
                  <option key={x}>{x}</option>
                ))}
              </select>
            )}
          </Field>
          <button type="submit" className="primary">
            {t.create}
          </button>
        </form>
      ) : null}
    </>
  );
}
