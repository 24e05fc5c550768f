import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api/client';
import type { Answer } from '../api/types';
import { useT } from '../i18n';
import { useSession } from '../session';
import { ErrorText, Field, Status } from '../ui';

type List = Answer<'/api/v1/lists'>['items'][number];

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
  const [lists, setLists] = useState<List[] | null>(null);
  const [editing, setEditing] = useState<List | 'new' | null>(null);
  const [embedFor, setEmbedFor] = useState<List | null>(null);

  const load = useCallback(async () => {
    setLists((await api.GET('/api/v1/lists')).data?.items ?? []);
  }, []);
  useEffect(() => void load(), [load]);

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
            void load();
          }}
        />
      ) : null}
      {lists === null ? (
        <p>{t.loading}</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">{t.lists}</caption>
            <thead>
              <tr>
                <th scope="col">{t.name}</th>
                <th scope="col">{t.slug}</th>
                <th scope="col">{t.members}</th>
                <th scope="col">
                  <span className="visually-hidden">{t.editList}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {lists.map((l) => (
                <tr key={l.id}>
                  <td>{l.name}</td>
                  <td>
                    <code>{l.slug}</code>
                  </td>
                  <td>
                    {l.counts.subscribed ?? 0} {t.subscribed}, {l.counts.unconfirmed ?? 0}{' '}
                    {t.unconfirmed}, {l.counts.unsubscribed ?? 0} {t.unsubscribed}
                  </td>
                  <td className="actions">
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
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
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
      <Field label={t.name}>
        {(id) => (
          <input
            id={id}
            required
            value={draft.name}
            onChange={(e) =>
              set({
                name: e.target.value,
                ...(props.list ? {} : { slug: slugOf(e.target.value) }),
              })
            }
          />
        )}
      </Field>
      <Field label={t.slug}>
        {(id) => (
          <input
            id={id}
            required
            pattern="[a-z0-9-]+"
            value={draft.slug}
            onChange={(e) => set({ slug: e.target.value })}
          />
        )}
      </Field>
      <Field label={t.description}>
        {(id) => (
          <textarea
            id={id}
            value={draft.description}
            onChange={(e) => set({ description: e.target.value })}
          />
        )}
      </Field>
      <label className="check">
        <input
          type="checkbox"
          checked={draft.doubleOptIn}
          onChange={(e) => set({ doubleOptIn: e.target.checked })}
        />{' '}
        {t.doubleOptIn}
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={draft.public}
          onChange={(e) => set({ public: e.target.checked })}
        />{' '}
        {t.publicList}
      </label>
      <Field label={t.thankYouUrl}>
        {(id) => (
          <input
            id={id}
            type="url"
            value={draft.thankYouUrl}
            onChange={(e) => set({ thankYouUrl: e.target.value })}
          />
        )}
      </Field>
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
