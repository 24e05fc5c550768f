import { useEffect, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api/client';
import type { Answer, QueryOf } from '../api/types';
import { DataTable } from '../components/DataTable';
import { TextField } from '../components/fields';
import { lineErrorsOf, MjmlEditor, type LineError } from '../components/MjmlEditor';
import { useCursorPages } from '../components/paging';
import { PREVIEW_DELAY_MS, PreviewPane } from '../components/PreviewPane';
import { useT } from '../i18n';
import { navigate } from '../router';
import { useSession } from '../session';
import { ErrorText, Link, Status } from '../ui';

type Query = QueryOf<'/api/v1/templates'>;
type Summary = Answer<'/api/v1/templates'>['items'][number];
const fetchPage = (query: Query) => api.GET('/api/v1/templates', { params: { query } });
const STARTER =
  '<mj-section>\n  <mj-column>\n    <mj-text>Hei {{subscriber.name}}!</mj-text>\n  </mj-column>\n</mj-section>\n';

/** Stored MJML templates (lazy: the editor is most of the app's weight). */
export default function TemplatesScreen({ id }: { id: string | undefined }) {
  return id ? <TemplateEditor id={id === 'new' ? null : id} key={id} /> : <TemplateList />;
}

function TemplateList() {
  const t = useT();
  const { can } = useSession();
  const { page, error, pager } = useCursorPages<Query, Summary>({ limit: '50' }, fetchPage);
  return (
    <>
      <h1>{t.templates}</h1>
      {can('templates.write') ? (
        <button type="button" className="primary" onClick={() => navigate('templates/new')}>
          {t.newTemplate}
        </button>
      ) : null}
      <ErrorText message={error} />
      <DataTable
        caption={t.templates}
        rows={page?.items ?? null}
        rowKey={(tpl) => tpl.id}
        columns={[
          { header: t.name, cell: (tpl) => <Link to={`templates/${tpl.id}`}>{tpl.name}</Link> },
          { header: t.defaultSubject, cell: (tpl) => tpl.subject ?? '' },
          { header: t.updated, cell: (tpl) => new Date(tpl.updatedAt).toLocaleString() },
        ]}
      />
      {pager}
    </>
  );
}

function TemplateEditor({ id }: { id: string | null }) {
  const t = useT();
  const { can } = useSession();
  const [name, setName] = useState('');
  const [subject, setSubject] = useState('');
  const [mjml, setMjml] = useState<string | null>(id ? null : STARTER);
  const [html, setHtml] = useState<string | null>(null);
  const [problems, setProblems] = useState<LineError[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  useEffect(() => {
    if (!id) return;
    void api
      .GET('/api/v1/templates/{id}', { params: { path: { id } } })
      .then(({ data, error: failure }) => {
        if (!data) return setError(messageOf(failure));
        setName(data.name);
        setSubject(data.subject ?? '');
        setMjml(data.mjml);
      });
  }, [id]);

  // Live preview; the same check a save makes, so problems show at their lines while typing.
  useEffect(() => {
    if (mjml === null) return;
    const timer = setTimeout(() => {
      void api
        .POST('/api/v1/templates/preview', { body: { mjml, subject } })
        .then(({ data, error: failure }) => {
          if (data) setHtml(data.html);
          setProblems(failure ? lineErrorsOf(failure) : []);
          setError(failure && lineErrorsOf(failure).length === 0 ? messageOf(failure) : null);
        });
    }, PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
  }, [mjml, subject]);

  async function save(e: FormEvent) {
    e.preventDefault();
    if (mjml === null) return;
    const body = { name, subject: subject || null, mjml };
    const { data, error: failure } = id
      ? await api.PATCH('/api/v1/templates/{id}', { params: { path: { id } }, body })
      : await api.POST('/api/v1/templates', { body });
    setProblems(lineErrorsOf(failure));
    setError(failure ? messageOf(failure) : null);
    if (!data) return;
    setStatus(`${t.saved}: ${data.name}`);
    if (!id) navigate(`templates/${data.id}`);
  }

  if (mjml === null) return error ? <ErrorText message={error} /> : <p>{t.loading}</p>;
  const editable = can('templates.write');
  return (
    <>
      <p>
        <Link to="templates">← {t.templates}</Link>
      </p>
      <h1>{id ? name : t.newTemplate}</h1>
      <div className="split">
        <form className="panel" onSubmit={(e) => void save(e)} aria-labelledby="template-title">
          <h2 id="template-title">{t.content}</h2>
          <TextField label={t.name} required value={name} onChange={setName} readOnly={!editable} />
          <TextField
            label={t.defaultSubject}
            value={subject}
            onChange={setSubject}
            readOnly={!editable}
          />
          <MjmlEditor value={mjml} onChange={setMjml} label={t.content} errors={problems} />
          <ErrorText message={error} />
          <Status message={status} />
          {editable ? (
            <button type="submit" className="primary">
              {t.save}
            </button>
          ) : null}
        </form>
        <PreviewPane html={html} />
      </div>
    </>
  );
}
