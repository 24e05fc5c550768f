import { useEffect, useState, type FormEvent } from 'react';
import { upload } from '../api/client';
import { api, messageOf } from '../api/client';
import type { Answer } from '../api/types';
import { useT } from '../i18n';
import { SelectField } from '../components/fields';
import { ErrorText, Field } from '../ui';

type Job = Answer<'/api/v1/imports/{id}'>;
type ListItem = Answer<'/api/v1/lists'>['items'][number];
const DELIMITERS = [',', ';', '\t'] as const;
type Delimiter = (typeof DELIMITERS)[number];
const FIELDS = ['email', 'name', 'phone', 'locale', 'customerSegment'] as const;
type Target = (typeof FIELDS)[number] | 'attribute' | 'ignore';
const PREVIEW_ROWS = 5;

/** The delimiter that splits the header line into the most columns. */
export function detectDelimiter(headerLine: string): Delimiter {
  const count = (d: string) => splitLine(headerLine, d).length;
  return [...DELIMITERS].sort((a, b) => count(b) - count(a))[0]!;
}

/** One CSV line into fields; quotes as in RFC 4180 (enough for a preview). */
function splitLine(line: string, delimiter: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted && c === '"' && line[i + 1] === '"') {
      field += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (c === delimiter && !quoted) {
      out.push(field.trim());
      field = '';
    } else {
      field += c;
    }
  }
  out.push(field.trim());
  return out;
}

/** UTF-8 when the bytes are valid UTF-8, else Windows-1252 (Excel's default in Finland). */
function decode(bytes: ArrayBuffer): { text: string; encoding: string } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'UTF-8' };
  } catch {
    return { text: new TextDecoder('windows-1252').decode(bytes), encoding: 'Windows-1252' };
  }
}

const guessTarget = (header: string): Target => {
  const h = header.toLowerCase();
  if (/e-?mail|sähköposti|sposti/.test(h)) return 'email';
  if (/^(name|nimi)$/.test(h)) return 'name';
  if (/phone|puhelin/.test(h)) return 'phone';
  if (/locale|kieli|language/.test(h)) return 'locale';
  return 'attribute';
};
const attributeKeyOf = (header: string) =>
  header
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .slice(0, 64) || 'column';

interface Column {
  header: string;
  target: Target;
  attributeKey: string;
}

export function ImportScreen() {
  const t = useT();
  const [lists, setLists] = useState<ListItem[]>([]);
  const [text, setText] = useState<string | null>(null);
  const [encoding, setEncoding] = useState('');
  const [delimiter, setDelimiter] = useState<Delimiter>(',');
  const [detected, setDetected] = useState<Delimiter | null>(null);
  const [columns, setColumns] = useState<Column[]>([]);
  const [list, setList] = useState('');
  const [mode, setMode] = useState<'add' | 'upsert'>('add');
  const [progress, setProgress] = useState<number | null>(null);
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void api
      .GET('/api/v1/lists', { params: { query: { limit: '200' } } })
      .then(({ data }) => setLists(data?.items ?? []));
  }, []);

  const lines = text?.split(/\r?\n/).filter((l) => l.trim() !== '') ?? [];
  const rows = lines.slice(1, 1 + PREVIEW_ROWS).map((l) => splitLine(l, delimiter));

  function useDelimiter(d: Delimiter, header: string) {
    setDelimiter(d);
    setColumns(
      splitLine(header, d).map((h) => ({
        header: h,
        target: guessTarget(h),
        attributeKey: attributeKeyOf(h),
      })),
    );
  }

  async function choose(file: File | undefined) {
    setJob(null);
    setError(null);
    if (!file) return setText(null);
    const decoded = decode(await file.arrayBuffer());
    const body = decoded.text.replace(/^\uFEFF/, '');
    setText(body);
    setEncoding(decoded.encoding);
    const header = body.split(/\r?\n/, 1)[0] ?? '';
    const d = detectDelimiter(header);
    setDetected(d);
    useDelimiter(d, header);
  }

  async function run(e: FormEvent) {
    e.preventDefault();
    if (text === null) return;
    const mapping: Record<string, string> = {};
    for (const c of columns)
      if (c.target === 'attribute') mapping[c.header] = `attributes.${c.attributeKey}`;
      else if (c.target !== 'ignore') mapping[c.header] = c.target;
    const form = new FormData();
    // Options first: the server streams the file and must know them when it starts.
    form.append('mapping', JSON.stringify(mapping));
    form.append('delimiter', delimiter);
    form.append('mode', mode);
    if (list) form.append('list', list);
    // Always UTF-8 on the wire, whatever the file was.
    form.append('file', new Blob([text], { type: 'text/csv' }), 'import.csv');
    setProgress(0);
    setError(null);
    try {
      const res = await upload<Job & { error?: { message: string } }>(
        '/api/v1/imports',
        form,
        setProgress,
      );
      if (res.status === 202) setJob(res.body);
      else setError(messageOf(res.body));
    } catch (err) {
      setError(String(err));
    }
    setProgress(null);
  }

  function downloadBadRows() {
    if (!job) return;
    const csv = [
      'line,problem',
      ...job.errors.map((e) => `${e.line},"${e.message.replaceAll('"', '""')}"`),
    ].join('\n');
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    a.download = 'import-problems.csv';
    a.click();
    URL.revokeObjectURL(a.href);
  }

  return (
    <>
      <h1>{t.import}</h1>
      <form className="panel" onSubmit={(e) => void run(e)}>
        <Field label={t.chooseFile}>
          {(id) => (
            <input
              id={id}
              type="file"
              accept=".csv,text/csv,text/plain"
              onChange={(e) => void choose(e.target.files?.[0])}
            />
          )}
        </Field>
        {text !== null ? (
          <>
            <Field
              label={t.delimiter}
              hint={detected ? `${t.detected}: ${nameOf(detected)} · ${encoding}` : undefined}
            >
              {(id) => (
                <select
                  id={id}
                  value={delimiter}
                  onChange={(e) => useDelimiter(e.target.value as Delimiter, lines[0] ?? '')}
                >
                  {DELIMITERS.map((d) => (
                    <option key={d} value={d}>
                      {nameOf(d)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <h2>{t.firstRows}</h2>
            <div className="table-wrap">
              <table>
                <caption className="visually-hidden">{t.firstRows}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t.column}</th>
                    <th scope="col">{t.mapsTo}</th>
                    {rows.map((_, i) => (
                      <th scope="col" key={i}>
                        {i + 2}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {columns.map((c, ci) => (
                    <tr key={ci}>
                      <th scope="row">{c.header}</th>
                      <td>
                        <select
                          aria-label={`${t.mapsTo}: ${c.header}`}
                          value={c.target}
                          onChange={(e) =>
                            setColumns(
                              columns.map((x, i) =>
                                i === ci ? { ...x, target: e.target.value as Target } : x,
                              ),
                            )
                          }
                        >
                          {FIELDS.map((f) => (
                            <option key={f} value={f}>
                              {f}
                            </option>
                          ))}
                          <option value="attribute">{t.attribute}</option>
                          <option value="ignore">{t.ignore}</option>
                        </select>
                        {c.target === 'attribute' ? (
                          <input
                            aria-label={`${t.attributeKey}: ${c.header}`}
                            value={c.attributeKey}
                            pattern="[A-Za-z0-9_-]{1,64}"
                            onChange={(e) =>
                              setColumns(
                                columns.map((x, i) =>
                                  i === ci ? { ...x, attributeKey: e.target.value } : x,
                                ),
                              )
                            }
                          />
                        ) : null}
                      </td>
                      {rows.map((r, ri) => (
                        <td key={ri}>{r[ci] ?? ''}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <SelectField
              label={t.intoList}
              value={list}
              empty="—"
              choices={lists.map((l) => ({ value: l.id, label: l.name }))}
              onChange={setList}
            />
            <SelectField<'add' | 'upsert'>
              label={t.mode}
              value={mode}
              choices={[
                { value: 'add', label: t.modeAdd },
                { value: 'upsert', label: t.modeUpsert },
              ]}
              onChange={setMode}
            />
            <button type="submit" className="primary" disabled={progress !== null}>
              {t.runImport}
            </button>
          </>
        ) : null}
        {progress !== null ? (
          <progress max={1} value={progress} aria-label={t.progress}>
            {Math.round(progress * 100)} %
          </progress>
        ) : null}
        <ErrorText message={error} />
      </form>
      {job ? (
        <section className="panel" aria-labelledby="report">
          <h2 id="report">{t.importReport}</h2>
          <dl className="facts" data-testid="import-report">
            {reportLines(job).map(([label, value]) => (
              <div key={label}>
                <dt>{t[label]}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
          {job.errors.length ? (
            <>
              <h3>{t.badRows}</h3>
              <ul>
                {job.errors.slice(0, 20).map((e) => (
                  <li key={e.line}>
                    {e.line}: {e.message}
                  </li>
                ))}
              </ul>
              <button type="button" onClick={downloadBadRows}>
                {t.downloadBadRows}
              </button>
            </>
          ) : null}
        </section>
      ) : null}
    </>
  );
}

function reportLines(
  job: Job,
): Array<['total' | 'created' | 'updated' | 'skipped' | 'invalid', number]> {
  const c = (k: string) => job.counts[k] ?? 0;
  return [
    ['total', c('total')],
    ['created', c('created')],
    ['updated', c('updated')],
    [
      'skipped',
      c('unchanged') + c('skippedSuppressed') + c('skippedUnsubscribed') + c('duplicates'),
    ],
    ['invalid', c('invalid')],
  ];
}

function nameOf(d: Delimiter): string {
  return d === '\t' ? 'tab' : `"${d}"`;
}
