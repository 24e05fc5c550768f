import { useEffect, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api/client';
import type { Answer, QueryOf } from '../api/types';
import { useT } from '../i18n';
import { useSession, type Schemas } from '../session';
import { CheckField, SelectField } from '../components/fields';
import { useCursorPages } from '../components/paging';
import { ErrorText, Field, Status } from '../ui';

type Rules = Schemas['Shared1'];
type Segment = Answer<'/api/v1/segments'>['items'][number];
type SegmentQuery = QueryOf<'/api/v1/segments'>;
const PAGE_SIZE = '50';
const fetchPage = (query: SegmentQuery) => api.GET('/api/v1/segments', { params: { query } });

/** The conditions the builder edits; anything else stays JSON-only. */
type Condition =
  | {
      kind: 'attribute';
      attribute: string;
      op: 'eq' | 'neq' | 'contains' | 'exists';
      value: string;
    }
  | { kind: 'list'; list: string; member: boolean }
  | { kind: 'locale'; value: 'fi' | 'sv' | 'en' }
  | { kind: 'orders'; op: 'gte' | 'lt'; value: number; withinDays: number };

/** all (and) or any (or) of its parts, or with `not` everyone they do not select. */
interface Group {
  kind: 'group';
  join: 'all' | 'any';
  not: boolean;
  parts: Part[];
}
type Part = Condition | Group;

/** Groups nest at most this deep on the server (src/segments/rules.ts MAX_DEPTH). */
const MAX_DEPTH = 4;

function conditionRule(c: Condition): unknown {
  switch (c.kind) {
    case 'attribute':
      return c.op === 'exists'
        ? { attribute: c.attribute, op: 'exists', value: c.value !== 'false' }
        : { attribute: c.attribute, op: c.op, value: c.value };
    case 'list':
      return { list: c.list, member: c.member };
    case 'locale':
      return { field: 'locale', op: 'eq', value: c.value };
    case 'orders':
      return { orders: 'count', op: c.op, value: c.value, withinDays: c.withinDays };
  }
}

function toRules(part: Part): Rules {
  if (part.kind !== 'group') return conditionRule(part) as Rules;
  const group = { [part.join]: part.parts.map(toRules) };
  return (part.not ? { not: group } : group) as Rules;
}

function conditionOf(r: Record<string, unknown>): Condition | null {
  if (typeof r.attribute === 'string' && ['eq', 'neq', 'contains', 'exists'].includes(String(r.op)))
    return { kind: 'attribute', attribute: r.attribute, op: r.op as 'eq', value: String(r.value) };
  if (typeof r.list === 'string') return { kind: 'list', list: r.list, member: r.member !== false };
  if (r.field === 'locale' && r.op === 'eq') return { kind: 'locale', value: r.value as 'fi' };
  if (r.orders === 'count' && (r.op === 'gte' || r.op === 'lt'))
    return {
      kind: 'orders',
      op: r.op,
      value: Number(r.value),
      withinDays: Number(r.withinDays ?? 365),
    };
  return null;
}

/** The builder's view of raw rules, or null when they use more than the builder shows. */
function partOf(raw: unknown): Part | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const rule = raw as Record<string, unknown>;
  if ('not' in rule) {
    const inner = partOf(rule.not);
    if (!inner) return null;
    return inner.kind === 'group' && !inner.not
      ? { ...inner, not: true }
      : { kind: 'group', join: 'all', not: true, parts: [inner] };
  }
  const join = 'all' in rule ? 'all' : 'any' in rule ? 'any' : null;
  if (!join) return conditionOf(rule);
  const list = rule[join];
  if (!Array.isArray(list)) return null;
  const parts = list.map(partOf);
  return parts.every((x) => x !== null)
    ? { kind: 'group', join, not: false, parts: parts as Part[] }
    : null;
}

/** The root is always a group; a lone condition becomes a group of one. */
function fromRules(raw: unknown): Group | null {
  const part = partOf(raw);
  if (!part) return null;
  return part.kind === 'group' ? part : { kind: 'group', join: 'all', not: false, parts: [part] };
}

const NEW: Record<Part['kind'], Part> = {
  attribute: { kind: 'attribute', attribute: '', op: 'eq', value: '' },
  list: { kind: 'list', list: '', member: true },
  locale: { kind: 'locale', value: 'fi' },
  orders: { kind: 'orders', op: 'gte', value: 1, withinDays: 365 },
  group: { kind: 'group', join: 'all', not: false, parts: [] },
};

export function SegmentsScreen() {
  const t = useT();
  const { can } = useSession();
  const {
    page: segments,
    pager,
    reload,
  } = useCursorPages<SegmentQuery, Segment>({ limit: PAGE_SIZE }, fetchPage);
  const [name, setName] = useState('');
  const [built, setBuilt] = useState<Group | null>({ ...(NEW.group as Group) });
  const [json, setJson] = useState(JSON.stringify({ all: [] }, null, 2));
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [count, setCount] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [lists, setLists] = useState<Array<{ slug: string; name: string }>>([]);

  useEffect(() => {
    void api
      .GET('/api/v1/lists', { params: { query: { limit: '200' } } })
      .then(({ data }) => setLists(data?.items ?? []));
  }, []);

  // The count follows the rules as they are typed, a moment after the last change.
  useEffect(() => {
    let rules: unknown;
    try {
      rules = JSON.parse(json);
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      void api
        .POST('/api/v1/segments/preview', { body: { rules: rules as Rules } })
        .then(({ data, error: failure }) => {
          setCount(data ? data.count : null);
          setJsonError(failure ? messageOf(failure) : null);
        });
    }, 300);
    return () => clearTimeout(timer);
  }, [json]);

  function edit(next: Group) {
    setBuilt(next);
    setJson(JSON.stringify(toRules(next), null, 2));
  }
  function editJson(text: string) {
    setJson(text);
    try {
      setBuilt(fromRules(JSON.parse(text)));
      setJsonError(null);
    } catch (err) {
      setJsonError(String(err));
    }
  }

  async function save(e: FormEvent) {
    e.preventDefault();
    const { error: failure } = await api.POST('/api/v1/segments', {
      body: { name, rules: JSON.parse(json) as Rules },
    });
    if (failure) return setError(messageOf(failure));
    setError(null);
    setSaved(`${t.saved}: ${name}`);
    reload();
  }

  return (
    <>
      <h1>{t.segments}</h1>
      <div className="split">
        <form className="panel" onSubmit={(e) => void save(e)} aria-labelledby="rules-title">
          <h2 id="rules-title">{t.rules}</h2>
          {built ? (
            <GroupEditor group={built} depth={1} lists={lists} onChange={edit} root />
          ) : null}
          <Field label={t.rawJson}>
            {(id) => (
              <textarea
                id={id}
                className="code"
                rows={12}
                value={json}
                onChange={(e) => editJson(e.target.value)}
              />
            )}
          </Field>
          <ErrorText message={jsonError} />
          <p className="count" aria-live="polite">
            {t.count}: <strong data-testid="segment-count">{count ?? '–'}</strong>
          </p>
          {can('segments.write') ? (
            <>
              <Field label={t.name}>
                {(id) => (
                  <input id={id} required value={name} onChange={(e) => setName(e.target.value)} />
                )}
              </Field>
              <button type="submit" className="primary">
                {t.saveSegment}
              </button>
            </>
          ) : null}
          <ErrorText message={error} />
          <Status message={saved} />
        </form>
        <section className="panel" aria-labelledby="saved-segments">
          <h2 id="saved-segments">{t.segments}</h2>
          <ul className="plain">
            {(segments?.items ?? []).map((s) => (
              <li key={s.id}>
                <button
                  type="button"
                  className="link"
                  onClick={() => {
                    setName(s.name);
                    editJson(JSON.stringify(s.rules, null, 2));
                  }}
                >
                  {s.name}
                </button>
              </li>
            ))}
          </ul>
          {pager}
        </section>
      </div>
    </>
  );
}

/** One group: and/or, not, its conditions and the groups inside it. */
function GroupEditor(props: {
  group: Group;
  depth: number;
  lists: Array<{ slug: string; name: string }>;
  onChange(group: Group): void;
  root?: boolean;
}) {
  const t = useT();
  const { group, onChange } = props;
  const setPart = (i: number, part: Part) =>
    onChange({ ...group, parts: group.parts.map((x, j) => (j === i ? part : x)) });
  const kinds = (Object.keys(NEW) as Array<Part['kind']>).filter(
    (kind) => kind !== 'group' || props.depth < MAX_DEPTH,
  );
  const kindLabel = (kind: Part['kind']) =>
    ({
      attribute: t.attribute,
      list: t.list,
      locale: t.language,
      orders: t.orders,
      group: t.addGroup,
    })[kind];
  const where = props.root ? t.rules : `${t.group} (${props.depth})`;
  return (
    <div className={props.root ? 'rule-group' : 'rule-group nested'}>
      <div className="row">
        <SelectField<'all' | 'any'>
          label={where}
          value={group.join}
          choices={[
            { value: 'all', label: t.matchAll },
            { value: 'any', label: t.matchAny },
          ]}
          onChange={(join) => onChange({ ...group, join })}
        />
        <CheckField
          label={
            <>
              {t.negate}
              <span className="visually-hidden"> {where}</span>
            </>
          }
          checked={group.not}
          onChange={(not) => onChange({ ...group, not })}
        />
      </div>
      <ol className="conditions">
        {group.parts.map((part, i) => (
          <li key={i}>
            {part.kind === 'group' ? (
              <GroupEditor
                group={part}
                depth={props.depth + 1}
                lists={props.lists}
                onChange={(next) => setPart(i, next)}
              />
            ) : (
              <ConditionEditor
                condition={part}
                lists={props.lists}
                onChange={(next) => setPart(i, next)}
              />
            )}
            <button
              type="button"
              onClick={() => onChange({ ...group, parts: group.parts.filter((_, j) => j !== i) })}
            >
              {t.remove}
            </button>
          </li>
        ))}
      </ol>
      <div className="row">
        {kinds.map((kind) => (
          <button
            key={kind}
            type="button"
            onClick={() => onChange({ ...group, parts: [...group.parts, NEW[kind]] })}
          >
            + {kindLabel(kind)}
            {props.root ? null : <span className="visually-hidden"> {where}</span>}
          </button>
        ))}
      </div>
    </div>
  );
}

function ConditionEditor(props: {
  condition: Condition;
  lists: Array<{ slug: string; name: string }>;
  onChange(c: Condition): void;
}) {
  const t = useT();
  const c = props.condition;
  switch (c.kind) {
    case 'attribute':
      return (
        <span className="row">
          <input
            aria-label={t.attributeKey}
            placeholder={t.attributeKey}
            value={c.attribute}
            onChange={(e) => props.onChange({ ...c, attribute: e.target.value })}
          />
          <select
            aria-label="operator"
            value={c.op}
            onChange={(e) => props.onChange({ ...c, op: e.target.value as typeof c.op })}
          >
            <option value="eq">=</option>
            <option value="neq">≠</option>
            <option value="contains">⊃</option>
            <option value="exists">exists</option>
          </select>
          <input
            aria-label="value"
            value={c.value}
            onChange={(e) => props.onChange({ ...c, value: e.target.value })}
          />
        </span>
      );
    case 'list':
      return (
        <span className="row">
          <select
            aria-label={t.list}
            value={c.list}
            onChange={(e) => props.onChange({ ...c, list: e.target.value })}
          >
            <option value="">—</option>
            {props.lists.map((l) => (
              <option key={l.slug} value={l.slug}>
                {l.name}
              </option>
            ))}
          </select>
          <label className="check">
            <input
              type="checkbox"
              checked={!c.member}
              onChange={(e) => props.onChange({ ...c, member: !e.target.checked })}
            />{' '}
            not
          </label>
        </span>
      );
    case 'locale':
      return (
        <select
          aria-label={t.language}
          value={c.value}
          onChange={(e) => props.onChange({ ...c, value: e.target.value as 'fi' })}
        >
          <option value="fi">fi</option>
          <option value="sv">sv</option>
          <option value="en">en</option>
        </select>
      );
    case 'orders':
      return (
        <span className="row">
          {t.orders}
          <select
            aria-label="operator"
            value={c.op}
            onChange={(e) => props.onChange({ ...c, op: e.target.value as 'gte' })}
          >
            <option value="gte">≥</option>
            <option value="lt">&lt;</option>
          </select>
          <input
            aria-label="count"
            type="number"
            min={0}
            value={c.value}
            onChange={(e) => props.onChange({ ...c, value: Number(e.target.value) })}
          />
          /
          <input
            aria-label="days"
            type="number"
            min={1}
            value={c.withinDays}
            onChange={(e) => props.onChange({ ...c, withinDays: Number(e.target.value) })}
          />
          d
        </span>
      );
  }
}
