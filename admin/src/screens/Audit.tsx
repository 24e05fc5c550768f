import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import type { Answer, QueryOf } from '../api/types';
import { DataTable } from '../components/DataTable';
import { TextField } from '../components/fields';
import { useCursorPages } from '../components/paging';
import { useT } from '../i18n';
import { ErrorText } from '../ui';

type Query = QueryOf<'/api/v1/audit'>;
type Entry = Answer<'/api/v1/audit'>['items'][number];
const fetchPage = (query: Query) => api.GET('/api/v1/audit', { params: { query } });

/** The audit trail for auditors: newest first, filtered and paged by the server. */
export function AuditScreen() {
  const t = useT();
  const [filter, setFilter] = useState({ subject: '', actor: '' });
  const { page, error, pager, search } = useCursorPages<Query, Entry>({ limit: '50' }, fetchPage);

  function submit(e: FormEvent) {
    e.preventDefault();
    search({
      limit: '50',
      ...(filter.subject ? { subject: filter.subject } : {}),
      ...(filter.actor ? { actor: filter.actor } : {}),
    });
  }

  return (
    <>
      <h1>{t.audit}</h1>
      <form className="filters" role="search" onSubmit={submit}>
        <TextField
          label={t.subjectId}
          value={filter.subject}
          onChange={(subject) => setFilter({ ...filter, subject })}
        />
        <TextField
          label={t.actor}
          value={filter.actor}
          onChange={(actor) => setFilter({ ...filter, actor })}
        />
        <button type="submit" className="primary">
          {t.search}
        </button>
      </form>
      <ErrorText message={error} />
      <DataTable
        caption={t.audit}
        testId="audit-log"
        rows={page?.items ?? null}
        rowKey={(e) => e.id}
        columns={[
          { header: t.when, cell: (e) => new Date(e.at).toLocaleString() },
          { header: t.actor, cell: (e) => `${e.actorType} ${e.actorId ?? ''}` },
          { header: t.action, cell: (e) => <code>{e.action}</code> },
          { header: t.subjectId, cell: (e) => e.subjectId ?? '' },
        ]}
      />
      {pager}
    </>
  );
}
