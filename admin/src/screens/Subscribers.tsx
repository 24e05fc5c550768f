import { useEffect, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api/client';
import type { Answer, QueryOf } from '../api/types';
import { DataTable } from '../components/DataTable';
import { SelectField, TextField } from '../components/fields';
import { useCursorPages } from '../components/paging';
import { useT, type Strings } from '../i18n';
import { navigate } from '../router';
import { useSession } from '../session';
import { ErrorText, Link, Status } from '../ui';

type Query = QueryOf<'/api/v1/subscribers'>;
type Summary = Answer<'/api/v1/subscribers'>['items'][number];
type ListItem = Answer<'/api/v1/lists'>['items'][number];
const STATUSES = ['subscribed', 'unconfirmed', 'unsubscribed', 'bounced', 'complained'] as const;
type SubscriberStatus = (typeof STATUSES)[number];
const LOCALES = ['fi', 'sv', 'en'] as const;
const PAGE_SIZE = '50';
const HISTORY_PAGE_SIZE = '20';
const fetchPage = (query: Query) => api.GET('/api/v1/subscribers', { params: { query } });

/** Search and filters run on the server; pages are fetched by cursor, never the whole register. */
export function SubscribersScreen() {
  const t = useT();
  const [lists, setLists] = useState<ListItem[]>([]);
  const [form, setForm] = useState({ email: '', name: '', list: '', status: '' });
  const { page, error, pager, search } = useCursorPages<Query, Summary>(
    { limit: PAGE_SIZE },
    fetchPage,
  );

  useEffect(() => {
    void api
      .GET('/api/v1/lists', { params: { query: { limit: '200' } } })
      .then(({ data }) => setLists(data?.items ?? []));
  }, []);

  function submit(e: FormEvent) {
    e.preventDefault();
    const q: Query = { limit: PAGE_SIZE };
    if (form.email) q.email = form.email;
    if (form.name) q.name = form.name;
    if (form.list) q.list = form.list;
    if (form.status) q.status = form.status as SubscriberStatus;
    search(q);
  }

  return (
    <>
      <h1>{t.subscribers}</h1>
      <form className="filters" role="search" onSubmit={submit}>
        <TextField
          label={t.searchByEmail}
          type="search"
          value={form.email}
          onChange={(email) => setForm({ ...form, email })}
        />
        <TextField
          label={t.searchByName}
          type="search"
          value={form.name}
          onChange={(name) => setForm({ ...form, name })}
        />
        <SelectField
          label={t.list}
          value={form.list}
          empty={t.anyList}
          choices={lists.map((l) => ({ value: l.id, label: l.name }))}
          onChange={(list) => setForm({ ...form, list })}
        />
        <SelectField
          label={t.status}
          value={form.status}
          empty={t.anyStatus}
          choices={STATUSES.map((s) => ({ value: s, label: t[s] }))}
          onChange={(status) => setForm({ ...form, status })}
        />
        <button type="submit" className="primary">
          {t.search}
        </button>
      </form>
      <ErrorText message={error} />
      <DataTable
        caption={t.subscribers}
        rows={page?.items ?? null}
        rowKey={(s) => s.id}
        columns={[
          {
            header: t.email,
            cell: (s) => <Link to={`subscribers/${s.id}`}>{s.email}</Link>,
          },
          { header: t.name, cell: (s) => s.name },
          { header: t.status, cell: (s) => t[s.status] },
          {
            header: t.lists,
            cell: (s) =>
              s.lists.map((l) => `${l.slug} (${membershipStatus(t, l.status)})`).join(', '),
          },
        ]}
      />
      {pager}
    </>
  );
}

type Person = Answer<'/api/v1/subscribers/{id}'>;
type Consents = Answer<'/api/v1/subscribers/{id}/consents'>;
type AttributeValue = Person['attributes'][string];

/** A person's record, with edit, unsubscribe and erase for the roles that may. */
export function SubscriberScreen({ id }: { id: string }) {
  const t = useT();
  const { can } = useSession();
  const [person, setPerson] = useState<Person | null>(null);
  const [consents, setConsents] = useState<Consents | null>(null);
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const path = { params: { path: { id } } };

  async function load() {
    const { data, error: failure } = await api.GET('/api/v1/subscribers/{id}', path);
    if (data) setPerson(data);
    else setError(messageOf(failure));
  }
  useEffect(() => {
    void load();
    void api
      .GET('/api/v1/subscribers/{id}/consents', path)
      .then(({ data }) => setConsents(data ?? null));
  }, [id]);

  async function unsubscribe() {
    if (!person || !window.confirm(`${t.unsubscribeConfirm} ${person.email}`)) return;
    const { error: failure } = await api.DELETE('/api/v1/subscribers/{id}', path);
    setError(failure ? messageOf(failure) : null);
    await load();
    if (!failure) setStatus(t.unsubscribedDone);
  }

  if (!person) return error ? <ErrorText message={error} /> : <p>{t.loading}</p>;
  return (
    <>
      <p>
        <Link to="subscribers">← {t.subscribers}</Link>
      </p>
      <h1>{person.name || person.email}</h1>
      <ErrorText message={error} />
      <Status message={status} />
      <dl className="facts" data-testid="person-facts">
        <dt>{t.email}</dt>
        <dd>{person.email}</dd>
        <dt>{t.status}</dt>
        <dd>{t[person.status]}</dd>
        <dt>{t.language}</dt>
        <dd>{person.locale}</dd>
        {person.hetu ? (
          <>
            <dt>HETU</dt>
            <dd>{person.hetu}</dd>
          </>
        ) : null}
      </dl>
      {can('subscribers.write') ? (
        <div className="row">
          <button type="button" aria-expanded={editing} onClick={() => setEditing(!editing)}>
            {t.editPerson}
          </button>
          {person.status !== 'unsubscribed' ? (
            <button type="button" onClick={() => void unsubscribe()}>
              {t.unsubscribeAll}
            </button>
          ) : null}
        </div>
      ) : null}
      {editing ? (
        <PersonForm
          person={person}
          onSaved={(saved) => {
            setPerson(saved);
            setEditing(false);
            setStatus(t.saved);
          }}
        />
      ) : null}
      <h2>{t.memberships}</h2>
      <ul>
        {person.lists.map((l) => (
          <li key={l.id}>
            {l.slug}: {membershipStatus(t, l.status)}
          </li>
        ))}
      </ul>
      <h2>{t.attributes}</h2>
      <dl className="facts" data-testid="person-attributes">
        {Object.entries(person.attributes).map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{String(v)}</dd>
          </div>
        ))}
      </dl>
      {can('orders.read') ? <OrdersSection key={`orders-${id}`} subscriberId={id} /> : null}
      <OptOutsSection key={`opt-outs-${id}`} person={person} />
      <h2>{t.consents}</h2>
      <pre className="code">{consents ? JSON.stringify(consents, null, 2) : t.loading}</pre>
      {can('privacy.write') ? <EraseSection email={person.email} /> : null}
    </>
  );
}

type OrderQuery = QueryOf<'/api/v1/orders'>;
type Order = Answer<'/api/v1/orders'>['items'][number];
const fetchOrders = (query: OrderQuery) => api.GET('/api/v1/orders', { params: { query } });

/** The person's order facts from the shop, a page at a time. */
function OrdersSection({ subscriberId }: { subscriberId: string }) {
  const t = useT();
  const { page, error, pager } = useCursorPages<OrderQuery, Order>(
    { subscriberId, limit: HISTORY_PAGE_SIZE },
    fetchOrders,
    t.orderFacts,
  );
  return (
    <section aria-labelledby="person-orders">
      <h2 id="person-orders">{t.orderFacts}</h2>
      <ErrorText message={error} />
      <DataTable
        caption={t.orderFacts}
        testId="person-orders"
        rows={page?.items ?? null}
        rowKey={(o) => o.id}
        columns={[
          { header: t.orderRef, cell: (o) => o.externalId },
          { header: t.orderedAt, cell: (o) => new Date(o.orderedAt).toLocaleString() },
          { header: t.orderTotal, cell: (o) => `${o.total} ${o.currency}` },
          { header: t.orderCategories, cell: (o) => o.categories.join(', ') },
        ]}
      />
      {pager}
    </section>
  );
}

type OptOutQuery = QueryOf<'/api/v1/subscribers/{id}/opt-outs'>;
type OptOut = Answer<'/api/v1/subscribers/{id}/opt-outs'>['items'][number];

/** Every opt-out of the person, bounces and complaints included, newest first. */
function OptOutsSection({ person }: { person: Person }) {
  const t = useT();
  const { page, error, pager } = useCursorPages<OptOutQuery, OptOut>(
    { limit: HISTORY_PAGE_SIZE },
    (query) =>
      api.GET('/api/v1/subscribers/{id}/opt-outs', { params: { path: { id: person.id }, query } }),
    t.optOuts,
  );
  const slugOf = (listId: string) => person.lists.find((l) => l.id === listId)?.slug ?? listId;
  return (
    <section aria-labelledby="person-opt-outs">
      <h2 id="person-opt-outs">{t.optOuts}</h2>
      <ErrorText message={error} />
      <DataTable
        caption={t.optOuts}
        testId="person-opt-outs"
        rows={page?.items ?? null}
        rowKey={(e) => e.id}
        columns={[
          { header: t.when, cell: (e) => new Date(e.at).toLocaleString() },
          { header: t.optOutHow, cell: (e) => t.optOutChannel[e.channel] },
          {
            header: t.optOutScope,
            cell: (e) => (e.allLists ? t.allListsScope : e.listIds.map(slugOf).join(', ')),
          },
          {
            header: t.campaignLabel,
            cell: (e) =>
              e.campaignId ? <Link to={`campaigns/${e.campaignId}`}>{e.campaignId}</Link> : '—',
          },
        ]}
      />
      {pager}
    </section>
  );
}

/** Name, language and attributes; an attribute keeps its type unless its text is edited. */
function PersonForm(props: { person: Person; onSaved(person: Person): void }) {
  const t = useT();
  const [name, setName] = useState(props.person.name);
  const [locale, setLocale] = useState(props.person.locale);
  const [attributes, setAttributes] = useState<Array<[string, AttributeValue]>>(
    Object.entries(props.person.attributes),
  );
  const [error, setError] = useState<string | null>(null);
  const setAttribute = (i: number, entry: [string, AttributeValue]) =>
    setAttributes(attributes.map((a, j) => (j === i ? entry : a)));

  async function submit(e: FormEvent) {
    e.preventDefault();
    const { data, error: failure } = await api.PATCH('/api/v1/subscribers/{id}', {
      params: { path: { id: props.person.id } },
      body: {
        name,
        locale,
        attributes: Object.fromEntries(attributes.filter(([k]) => k.trim() !== '')),
      },
    });
    if (data) props.onSaved(data);
    else setError(messageOf(failure));
  }

  return (
    <form className="panel" onSubmit={(e) => void submit(e)} aria-labelledby="edit-person">
      <h2 id="edit-person">{t.editPerson}</h2>
      <TextField label={t.name} value={name} onChange={setName} />
      <SelectField
        label={t.language}
        value={locale}
        choices={LOCALES.map((l) => ({ value: l, label: l }))}
        onChange={(l) => setLocale(l)}
      />
      <fieldset>
        <legend>{t.attributes}</legend>
        <ul className="plain">
          {attributes.map(([key, value], i) => (
            <li key={i} className="row">
              <input
                aria-label={`${t.attributeKey} ${i + 1}`}
                value={key}
                pattern="[A-Za-z0-9_-]{1,64}"
                onChange={(e) => setAttribute(i, [e.target.value, value])}
              />
              <input
                aria-label={`${t.attributeValue} ${i + 1}`}
                value={String(value)}
                onChange={(e) => setAttribute(i, [key, e.target.value])}
              />
              <button
                type="button"
                onClick={() => setAttributes(attributes.filter((_, j) => j !== i))}
              >
                {t.remove} <span className="visually-hidden">{key}</span>
              </button>
            </li>
          ))}
        </ul>
        <button type="button" onClick={() => setAttributes([...attributes, ['', '']])}>
          + {t.attribute}
        </button>
      </fieldset>
      <ErrorText message={error} />
      <button type="submit" className="primary">
        {t.save}
      </button>
    </form>
  );
}

/** Erasure is final: the address must be typed again before the button does anything. */
function EraseSection({ email }: { email: string }) {
  const t = useT();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string | null>(null);

  async function erase(e: FormEvent) {
    e.preventDefault();
    const { error: failure } = await api.POST('/api/v1/privacy/subjects/erase', {
      body: { email },
    });
    if (failure) return setError(messageOf(failure));
    navigate('subscribers');
  }

  return (
    <section className="panel danger" aria-labelledby="erase-title">
      <h2 id="erase-title">{t.erasePerson}</h2>
      <p>{t.eraseExplained}</p>
      {!open ? (
        <button type="button" onClick={() => setOpen(true)}>
          {t.erasePerson}…
        </button>
      ) : (
        <form onSubmit={(e) => void erase(e)}>
          <TextField
            label={t.eraseTypeEmail}
            value={typed}
            onChange={setTyped}
            autoComplete="off"
            required
          />
          <ErrorText message={error} />
          <div className="row">
            <button
              type="submit"
              className="primary"
              disabled={typed.trim().toLowerCase() !== email}
            >
              {t.eraseNow}
            </button>
            <button type="button" onClick={() => setOpen(false)}>
              {t.cancel}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

/** Membership states share their words with subscriber states where they exist. */
function membershipStatus(t: Strings, status: string): string {
  const known: readonly string[] = STATUSES;
  return known.includes(status) ? t[status as SubscriberStatus] : status;
}
