import { useEffect, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api/client';
import type { Answer, QueryOf } from '../api/types';
import { useT, type Strings } from '../i18n';
import { atCursor, ErrorText, Field, Link, Pager } from '../ui';

type Query = QueryOf<'/api/v1/subscribers'>;
type Page = Answer<'/api/v1/subscribers'>;
type ListItem = Answer<'/api/v1/lists'>['items'][number];
const STATUSES = ['subscribed', 'unconfirmed', 'unsubscribed', 'bounced', 'complained'] as const;
const PAGE_SIZE = 50;

/** Search and filters run on the server; pages are fetched by cursor, never the whole register. */
export function SubscribersScreen() {
  const t = useT();
  const [lists, setLists] = useState<ListItem[]>([]);
  const [form, setForm] = useState({ email: '', name: '', list: '', status: '' });
  const [query, setQuery] = useState<Query>({ limit: PAGE_SIZE });
  // Cursors of the pages before the current one, for "previous".
  const [cursors, setCursors] = useState<Array<string | undefined>>([]);
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void api.GET('/api/v1/lists').then(({ data }) => setLists(data?.items ?? []));
  }, []);
  useEffect(() => {
    setPage(null);
    void api.GET('/api/v1/subscribers', { params: { query } }).then(({ data, error: failure }) => {
      setError(failure ? messageOf(failure) : null);
      setPage(data ?? { items: [], nextCursor: null });
    });
  }, [query]);

  function search(e: FormEvent) {
    e.preventDefault();
    const q: Query = { limit: PAGE_SIZE };
    if (form.email) q.email = form.email;
    if (form.name) q.name = form.name;
    if (form.list) q.list = form.list;
    if (form.status) q.status = form.status as (typeof STATUSES)[number];
    setCursors([]);
    setQuery(q);
  }

  return (
    <>
      <h1>{t.subscribers}</h1>
      <form className="filters" role="search" onSubmit={search}>
        <Field label={t.searchByEmail}>
          {(id) => (
            <input
              id={id}
              type="search"
              value={form.email}
              onChange={(e) => setForm({ ...form, email: e.target.value })}
            />
          )}
        </Field>
        <Field label={t.searchByName}>
          {(id) => (
            <input
              id={id}
              type="search"
              value={form.name}
              onChange={(e) => setForm({ ...form, name: e.target.value })}
            />
          )}
        </Field>
        <Field label={t.list}>
          {(id) => (
            <select
              id={id}
              value={form.list}
              onChange={(e) => setForm({ ...form, list: e.target.value })}
            >
              <option value="">{t.anyList}</option>
              {lists.map((l) => (
                <option key={l.id} value={l.id}>
                  {l.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t.status}>
          {(id) => (
            <select
              id={id}
              value={form.status}
              onChange={(e) => setForm({ ...form, status: e.target.value })}
            >
              <option value="">{t.anyStatus}</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {t[s]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" className="primary">
          {t.search}
        </button>
      </form>
      <ErrorText message={error} />
      {page === null ? (
        <p>{t.loading}</p>
      ) : page.items.length === 0 ? (
        <p>{t.noResults}</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">{t.subscribers}</caption>
            <thead>
              <tr>
                <th scope="col">{t.email}</th>
                <th scope="col">{t.name}</th>
                <th scope="col">{t.status}</th>
                <th scope="col">{t.lists}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link to={`subscribers/${s.id}`}>{s.email}</Link>
                  </td>
                  <td>{s.name}</td>
                  <td>{t[s.status]}</td>
                  <td>
                    {s.lists.map((l) => `${l.slug} (${membershipStatus(t, l.status)})`).join(', ')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager
        labels={t}
        hasPrevious={cursors.length > 0}
        nextCursor={page?.nextCursor}
        onPrevious={() => {
          const previous = cursors.slice(0, -1);
          const cursor = cursors.at(-1);
          setCursors(previous);
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

type Person = Answer<'/api/v1/subscribers/{id}'>;
type Consents = Answer<'/api/v1/subscribers/{id}/consents'>;

export function SubscriberScreen({ id }: { id: string }) {
  const t = useT();
  const [person, setPerson] = useState<Person | null>(null);
  const [consents, setConsents] = useState<Consents | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const path = { path: { id } };
    void api.GET('/api/v1/subscribers/{id}', { params: path }).then(({ data, error: failure }) => {
      if (data) setPerson(data);
      else setError(messageOf(failure));
    });
    void api
      .GET('/api/v1/subscribers/{id}/consents', { params: path })
      .then(({ data }) => setConsents(data ?? null));
  }, [id]);

  if (error) return <ErrorText message={error} />;
  if (!person) return <p>{t.loading}</p>;
  return (
    <>
      <p>
        <Link to="subscribers">← {t.subscribers}</Link>
      </p>
      <h1>{person.name || person.email}</h1>
      <dl className="facts">
        <dt>{t.email}</dt>
        <dd>{person.email}</dd>
        <dt>{t.status}</dt>
        <dd>{t[person.status]}</dd>
        {person.hetu ? (
          <>
            <dt>HETU</dt>
            <dd>{person.hetu}</dd>
          </>
        ) : null}
      </dl>
      <h2>{t.memberships}</h2>
      <ul>
        {person.lists.map((l) => (
          <li key={l.id}>
            {l.slug}: {membershipStatus(t, l.status)}
          </li>
        ))}
      </ul>
      <h2>{t.attributes}</h2>
      <dl className="facts">
        {Object.entries(person.attributes).map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{String(v)}</dd>
          </div>
        ))}
      </dl>
      <h2>{t.consents}</h2>
      <pre className="code">{consents ? JSON.stringify(consents, null, 2) : t.loading}</pre>
    </>
  );
}

/** Membership states share their words with subscriber states where they exist. */
function membershipStatus(t: Strings, status: string): string {
  const known: readonly string[] = [
    'subscribed',
    'unconfirmed',
    'unsubscribed',
    'bounced',
    'complained',
  ];
  return known.includes(status) ? t[status as (typeof STATUSES)[number]] : status;
}
