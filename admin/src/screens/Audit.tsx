import { useEffect, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api/client';
import type { Answer, QueryOf } from '../api/types';
import { useT } from '../i18n';
import { atCursor, ErrorText, Field, Pager } from '../ui';

type Query = QueryOf<'/api/v1/audit'>;
type Page = Answer<'/api/v1/audit'>;

/** The audit trail for auditors: newest first, filtered and paged by the server. */
export function AuditScreen() {
  const t = useT();
  const [filter, setFilter] = useState({ subject: '', actor: '' });
  const [query, setQuery] = useState<Query>({ limit: 50 });
  const [cursors, setCursors] = useState<Array<string | undefined>>([]);
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void api.GET('/api/v1/audit', { params: { query } }).then(({ data, error: failure }) => {
      setError(failure ? messageOf(failure) : null);
      setPage(data ?? { items: [], nextCursor: null });
    });
  }, [query]);

  function search(e: FormEvent) {
    e.preventDefault();
    setCursors([]);
    setQuery({
      limit: 50,
      ...(filter.subject ? { subject: filter.subject } : {}),
      ...(filter.actor ? { actor: filter.actor } : {}),
    });
  }

  return (
    <>
      <h1>{t.audit}</h1>
      <form className="filters" role="search" onSubmit={search}>
        <Field label={t.subjectId}>
          {(id) => (
            <input
              id={id}
              value={filter.subject}
              onChange={(e) => setFilter({ ...filter, subject: e.target.value })}
            />
          )}
        </Field>
        <Field label={t.actor}>
          {(id) => (
            <input
              id={id}
              value={filter.actor}
              onChange={(e) => setFilter({ ...filter, actor: e.target.value })}
            />
          )}
        </Field>
        <button type="submit" className="primary">
          {t.search}
        </button>
      </form>
      <ErrorText message={error} />
      {page ? (
        <div className="table-wrap">
          <table data-testid="audit-log">
            <caption className="visually-hidden">{t.audit}</caption>
            <thead>
              <tr>
                <th scope="col">{t.when}</th>
                <th scope="col">{t.actor}</th>
                <th scope="col">{t.action}</th>
                <th scope="col">{t.subjectId}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((e) => (
                <tr key={e.id}>
                  <td>{new Date(e.at).toLocaleString()}</td>
                  <td>
                    {e.actorType} {e.actorId ?? ''}
                  </td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>{e.subjectId ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p>{t.loading}</p>
      )}
      <Pager
        labels={t}
        hasPrevious={cursors.length > 0}
        nextCursor={page?.nextCursor}
        onPrevious={() => {
          const cursor = cursors.at(-1);
          setCursors(cursors.slice(0, -1));
          setQuery(atCursor(query, cursor));
        }}
        onNext={(cursor) => {
          setCursors([...cursors, query.cursor]);
          setQuery(atCursor(query, cursor));
        }}
      />
    </>
  );
}
