import { useEffect, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api/client';
import type { Answer, QueryOf } from '../api/types';
import { DataTable } from '../components/DataTable';
import { CheckField, TextField } from '../components/fields';
import { useCursorPages } from '../components/paging';
import { useT } from '../i18n';
import { useSession } from '../session';
import { ErrorText, Field, Status } from '../ui';

type List = Answer<'/api/v1/lists'>['items'][number];
type Query = QueryOf<'/api/v1/lists'>;
const PAGE_SIZE = '50';
const fetchPage = (query: Query) => api.GET('/api/v1/lists', { params: { query } });

interface Draft {
  name: string;
  slug: string;
  description: string;
  doubleOptIn: boolean;
  public: boolean;
  thankYouUrl: string;
}
const empty: Draft = {
  name: '',
  slug: '',
  description: '',
  doubleOptIn: true,
  public: false,
  thankYouUrl: '',
};
const slugOf = (name: string) =>
  name
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

export function ListsScreen() {
  const t = useT();
  const { can } = useSession();
  const [editing, setEditing] = useState<List | 'new' | null>(null);
  const [embedFor, setEmbedFor] = useState<List | null>(null);
  const { page, pager, reload } = useCursorPages<Query, List>({ limit: PAGE_SIZE }, fetchPage);

  return (
    <>
      <h1>{t.lists}</h1>
      {can('lists.write') ? (
        <button type="button" className="primary" onClick={() => setEditing('new')}>
          {t.newList}
        </button>
      ) : null}
      {editing ? (
        <ListForm
          list={editing === 'new' ? null : editing}
          onDone={() => {
            setEditing(null);
            reload();
          }}
        />
      ) : null}
      <DataTable
        caption={t.lists}
        rows={page?.items ?? null}
        rowKey={(l) => l.id}
        columns={[
          { header: t.name, cell: (l) => l.name },
          { header: t.slug, cell: (l) => <code>{l.slug}</code> },
          {
            header: t.members,
            cell: (l) =>
              `${l.counts.subscribed ?? 0} ${t.subscribed}, ${l.counts.unconfirmed ?? 0} ` +
              `${t.unconfirmed}, ${l.counts.unsubscribed ?? 0} ${t.unsubscribed}`,
          },
          {
            header: t.editList,
            hiddenHeader: true,
            className: 'actions',
            cell: (l) => (
              <>
                {can('lists.write') ? (
                  <button type="button" onClick={() => setEditing(l)}>
                    {t.editList}
                    <span className="visually-hidden"> {l.name}</span>
                  </button>
                ) : null}
                <button type="button" onClick={() => setEmbedFor(l)}>
                  {t.embedForm}
                  <span className="visually-hidden"> {l.name}</span>
                </button>
              </>
            ),
          },
        ]}
      />
      {pager}
      {embedFor ? <EmbedForm list={embedFor} /> : null}
    </>
  );
}

function ListForm(props: { list: List | null; onDone(): void }) {
  const t = useT();
  const [draft, setDraft] = useState<Draft>(
    props.list
      ? {
          name: props.list.name,
          slug: props.list.slug,
          description: props.list.description,
          doubleOptIn: props.list.doubleOptIn,
          public: props.list.public,
          thankYouUrl: props.list.thankYouUrl ?? '',
        }
      : empty,
  );
  const [error, setError] = useState<string | null>(null);
  const set = (patch: Partial<Draft>) => setDraft({ ...draft, ...patch });

  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = { ...draft, thankYouUrl: draft.thankYouUrl || null };
    const { error: failure } = props.list
      ? await api.PATCH('/api/v1/lists/{id}', { params: { path: { id: props.list.id } }, body })
      : await api.POST('/api/v1/lists', { body });
    if (failure) setError(messageOf(failure));
    else props.onDone();
  }

  return (
    <form className="panel" onSubmit={(e) => void submit(e)}>
      <h2>{props.list ? t.editList : t.newList}</h2>
      <TextField
        label={t.name}
        required
        value={draft.name}
        onChange={(name) => set({ name, ...(props.list ? {} : { slug: slugOf(name) }) })}
      />
      <TextField
        label={t.slug}
        required
        pattern="[a-z0-9-]+"
        value={draft.slug}
        onChange={(slug) => set({ slug })}
      />
      <Field label={t.description}>
        {(id) => (
          <textarea
            id={id}
            value={draft.description}
            onChange={(e) => set({ description: e.target.value })}
          />
        )}
      </Field>
      <CheckField
        label={t.doubleOptIn}
        checked={draft.doubleOptIn}
        onChange={(doubleOptIn) => set({ doubleOptIn })}
      />
      <CheckField
        label={t.publicList}
        checked={draft.public}
        onChange={(checked) => set({ public: checked })}
      />
      <TextField
        label={t.thankYouUrl}
        type="url"
        value={draft.thankYouUrl}
        onChange={(thankYouUrl) => set({ thankYouUrl })}
      />
      <ErrorText message={error} />
      <div className="row">
        <button type="submit" className="primary">
          {props.list ? t.save : t.create}
        </button>
        <button type="button" onClick={props.onDone}>
          {t.cancel}
        </button>
      </div>
    </form>
  );
}

function EmbedForm({ list }: { list: List }) {
  const t = useT();
  const [html, setHtml] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  useEffect(() => {
    void api
      .GET('/api/v1/lists/{id}/embed', { params: { path: { id: list.id } } })
      .then(({ data, error: failure }) =>
        data ? setHtml(data.html) : setError(messageOf(failure)),
      );
  }, [list.id]);
  return (
    <section className="panel" aria-labelledby="embed-title">
      <h2 id="embed-title">
        {t.embedForm}: {list.name}
      </h2>
      <ErrorText message={error} />
      {html !== null ? (
        <>
          <Field label={t.embedForm}>
            {(id) => <textarea id={id} readOnly rows={10} value={html} className="code" />}
          </Field>
          <button
            type="button"
            onClick={() => void navigator.clipboard.writeText(html).then(() => setCopied(t.copied))}
          >
            {t.copy}
          </button>
          <Status message={copied} />
        </>
      ) : null}
    </section>
  );
}
