import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api/client';
import type { paths } from '../api/schema';
import type { Answer } from '../api/types';
import { navigate } from '../router';
import { useSession } from '../session';
import { ErrorText, Field, Link, Status } from '../ui';
import { useAutomationT } from './automation-strings';

type Automation = Answer<'/api/v1/automations'>['items'][number];
type Stats = Answer<'/api/v1/automations/{id}/stats'>;
type Body = paths['/api/v1/automations']['post']['requestBody']['content']['application/json'];
type Trigger = Body['trigger'];
type Step = Body['steps'][number];
type Rule = Extract<Step, { type: 'branch' }>['rule'];

const NEW_TRIGGER: Record<Trigger['type'], Trigger> = {
  list_joined: { type: 'list_joined', list: '' },
  first_order: { type: 'first_order' },
  order_in_category: { type: 'order_in_category', category: '' },
  order_date_passed: { type: 'order_date_passed', order: 'last', days: 180 },
  date_attribute: { type: 'date_attribute', attribute: 'birthday' },
};
const NEW_STEP: Record<Step['type'], Step> = {
  wait: { type: 'wait', duration: 'P3D' },
  send: { type: 'send', templateId: '' },
  branch: { type: 'branch', rule: { all: [] } as unknown as Rule, then: 'end', else: 'end' },
};

/** /admin/automations (the list), /admin/automations/new and /admin/automations/ID (editor). */
export function AutomationsScreen(props: { id?: string }) {
  return props.id ? <AutomationEditor id={props.id} /> : <AutomationList />;
}

function AutomationList() {
  const t = useAutomationT();
  const { can } = useSession();
  const [items, setItems] = useState<Automation[] | null>(null);
  useEffect(() => {
    void api.GET('/api/v1/automations').then(({ data }) => setItems(data?.items ?? []));
  }, []);
  return (
    <>
      <h1>{t.automations}</h1>
      {can('automations.write') ? (
        <button type="button" className="primary" onClick={() => navigate('automations/new')}>
          {t.newAutomation}
        </button>
      ) : null}
      {items === null ? null : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t.editAutomation}</th>
                <th scope="col">{t.status}</th>
                <th scope="col">{t.trigger}</th>
                <th scope="col">{t.steps}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={a.id}>
                  <td>
                    <Link to={`automations/${a.id}`}>{a.name}</Link>
                  </td>
                  <td>{t.statuses[a.status]}</td>
                  <td>{t.triggers[a.trigger.type]}</td>
                  <td>{a.steps.map((s) => t.stepTypes[s.type]).join(' → ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function AutomationEditor(props: { id: string }) {
  const t = useAutomationT();
  const { can } = useSession();
  const isNew = props.id === 'new';
  const [current, setCurrent] = useState<Automation | null>(null);
  const [name, setName] = useState('');
  const [trigger, setTrigger] = useState<Trigger>(NEW_TRIGGER.list_joined);
  const [steps, setSteps] = useState<Step[]>([NEW_STEP.send]);
  const [exitJson, setExitJson] = useState('');
  const [reentry, setReentry] = useState(false);
  const [fromEmail, setFromEmail] = useState('');
  const [stats, setStats] = useState<Stats | null>(null);
  const [lists, setLists] = useState<Array<{ id: string; name: string }>>([]);
  const [templates, setTemplates] = useState<Array<{ id: string; name: string }>>([]);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  const show = useCallback((a: Automation) => {
    setCurrent(a);
    setName(a.name);
    setTrigger(a.trigger as Trigger);
    setSteps(a.steps as Step[]);
    setExitJson(a.exit.rule ? JSON.stringify(a.exit.rule, null, 2) : '');
    setReentry(a.reentry);
    setFromEmail(a.fromEmail ?? '');
  }, []);
  const load = useCallback(async () => {
    if (isNew) return;
    const path = { params: { path: { id: props.id } } };
    const { data } = await api.GET('/api/v1/automations/{id}', path);
    if (data) show(data);
    setStats((await api.GET('/api/v1/automations/{id}/stats', path)).data ?? null);
  }, [isNew, props.id, show]);
  useEffect(() => {
    void load();
    void api.GET('/api/v1/lists').then(({ data }) => setLists(data?.items ?? []));
    void api.GET('/api/v1/templates').then(({ data }) => setTemplates(data?.items ?? []));
  }, [load]);

  async function save(e: FormEvent) {
    e.preventDefault();
    let exit: Body['exit'] = {};
    try {
      if (exitJson.trim()) exit = { rule: JSON.parse(exitJson) as Rule };
    } catch {
      return setError(`${t.exitRule}: ${t.badJson}`);
    }
    const body = { name, trigger, steps, exit, reentry, ...(fromEmail ? { fromEmail } : {}) };
    const { data, error: failure } = isNew
      ? await api.POST('/api/v1/automations', { body })
      : await api.PATCH('/api/v1/automations/{id}', {
          params: { path: { id: props.id } },
          body: { ...body, fromEmail: fromEmail || null },
        });
    setError(failure ? messageOf(failure) : null);
    if (!data) return;
    setStatus(t.saved);
    if (isNew) navigate(`automations/${data.id}`);
    else show(data);
  }
  async function lifecycle(action: 'activate' | 'pause') {
    const { data, error: failure } = await api.POST(
      action === 'activate'
        ? '/api/v1/automations/{id}/activate'
        : '/api/v1/automations/{id}/pause',
      { params: { path: { id: props.id } }, body: {} },
    );
    setError(failure ? messageOf(failure) : null);
    if (data) show(data);
  }
  async function remove() {
    const { error: failure } = await api.DELETE('/api/v1/automations/{id}', {
      params: { path: { id: props.id } },
    });
    if (failure) return setError(messageOf(failure));
    navigate('automations');
  }

  const setStep = (i: number, step: Step) => setSteps(steps.map((s, j) => (j === i ? step : s)));
  const writable = can('automations.write');
  return (
    <>
      <p>
        <Link to="automations">← {t.back}</Link>
      </p>
      <h1>
        {isNew ? t.newAutomation : name}
        {current ? ` (${t.statuses[current.status]})` : ''}
      </h1>
      <div className="split">
        <form className="panel" onSubmit={(e) => void save(e)} aria-label={t.editAutomation}>
          <Field label="Name">
            {(id) => (
              <input id={id} required value={name} onChange={(e) => setName(e.target.value)} />
            )}
          </Field>
          <fieldset>
            <legend>{t.trigger}</legend>
            <TriggerEditor trigger={trigger} lists={lists} onChange={setTrigger} />
          </fieldset>
          <fieldset>
            <legend>{t.steps}</legend>
            <ol className="conditions">
              {steps.map((step, i) => (
                <li key={i}>
                  <StepEditor
                    step={step}
                    index={i}
                    count={steps.length}
                    templates={templates}
                    onChange={(s) => setStep(i, s)}
                  />
                  <button type="button" onClick={() => setSteps(steps.filter((_, j) => j !== i))}>
                    {t.remove}
                    <span className="visually-hidden">
                      {' '}
                      {t.step} {i + 1}
                    </span>
                  </button>
                </li>
              ))}
            </ol>
            <div className="row">
              {(Object.keys(NEW_STEP) as Array<Step['type']>).map((type) => (
                <button
                  key={type}
                  type="button"
                  onClick={() => setSteps([...steps, NEW_STEP[type]])}
                >
                  + {t.stepTypes[type]}
                </button>
              ))}
            </div>
          </fieldset>
          <Field label={t.exitRule} hint={t.exitAlways}>
            {(id) => (
              <textarea
                id={id}
                className="code"
                rows={4}
                value={exitJson}
                onChange={(e) => setExitJson(e.target.value)}
              />
            )}
          </Field>
          <label className="check">
            <input
              type="checkbox"
              checked={reentry}
              onChange={(e) => setReentry(e.target.checked)}
            />{' '}
            {t.reentry}
          </label>
          <Field label={t.fromEmail}>
            {(id) => (
              <input id={id} value={fromEmail} onChange={(e) => setFromEmail(e.target.value)} />
            )}
          </Field>
          {writable ? (
            <div className="row">
              <button type="submit" className="primary">
                {t.saveAutomation}
              </button>
              {current && current.status !== 'active' ? (
                <button type="button" onClick={() => void lifecycle('activate')}>
                  {t.activate}
                </button>
              ) : null}
              {current?.status === 'active' ? (
                <button type="button" onClick={() => void lifecycle('pause')}>
                  {t.pause}
                </button>
              ) : null}
              {current && current.status !== 'active' ? (
                <button type="button" onClick={() => void remove()}>
                  {t.delete}
                </button>
              ) : null}
            </div>
          ) : null}
          <ErrorText message={error} />
          <Status message={status} />
        </form>
        {stats ? <StatsPanel stats={stats} /> : null}
      </div>
    </>
  );
}

function TriggerEditor(props: {
  trigger: Trigger;
  lists: Array<{ id: string; name: string }>;
  onChange(trigger: Trigger): void;
}) {
  const t = useAutomationT();
  const tr = props.trigger;
  return (
    <>
      <Field label={t.trigger}>
        {(id) => (
          <select
            id={id}
            value={tr.type}
            onChange={(e) => props.onChange(NEW_TRIGGER[e.target.value as Trigger['type']])}
          >
            {(Object.keys(NEW_TRIGGER) as Array<Trigger['type']>).map((type) => (
              <option key={type} value={type}>
                {t.triggers[type]}
              </option>
            ))}
          </select>
        )}
      </Field>
      {tr.type === 'list_joined' ? (
        <Field label={t.list}>
          {(id) => (
            <select
              id={id}
              required
              value={tr.list}
              onChange={(e) => props.onChange({ ...tr, list: e.target.value })}
            >
              <option value="">—</option>
              {props.lists.map((l) => (
                <option key={l.id} value={l.id}>
                  {l.name}
                </option>
              ))}
            </select>
          )}
        </Field>
      ) : null}
      {tr.type === 'order_in_category' ? (
        <Field label={t.category}>
          {(id) => (
            <input
              id={id}
              required
              value={tr.category}
              onChange={(e) => props.onChange({ ...tr, category: e.target.value })}
            />
          )}
        </Field>
      ) : null}
      {tr.type === 'order_date_passed' ? (
        <div className="row">
          <Field label={t.whichOrder}>
            {(id) => (
              <select
                id={id}
                value={tr.order}
                onChange={(e) => props.onChange({ ...tr, order: e.target.value as 'last' })}
              >
                <option value="last">{t.lastOrder}</option>
                <option value="first">{t.firstOrder}</option>
              </select>
            )}
          </Field>
          <Field label={t.days}>
            {(id) => (
              <input
                id={id}
                type="number"
                min={1}
                value={tr.days}
                onChange={(e) => props.onChange({ ...tr, days: Number(e.target.value) })}
              />
            )}
          </Field>
        </div>
      ) : null}
      {tr.type === 'date_attribute' ? (
        <Field label={t.attribute}>
          {(id) => (
            <input
              id={id}
              required
              value={tr.attribute}
              onChange={(e) => props.onChange({ ...tr, attribute: e.target.value })}
            />
          )}
        </Field>
      ) : null}
    </>
  );
}

function StepEditor(props: {
  step: Step;
  index: number;
  count: number;
  templates: Array<{ id: string; name: string }>;
  onChange(step: Step): void;
}) {
  const t = useAutomationT();
  const s = props.step;
  const [ruleText, setRuleText] = useState(s.type === 'branch' ? JSON.stringify(s.rule) : '');
  const label = `${t.step} ${props.index + 1}: ${t.stepTypes[s.type]}`;
  if (s.type === 'wait')
    return (
      <Field label={`${label} – ${t.duration}`}>
        {(id) => (
          <input
            id={id}
            value={s.duration}
            onChange={(e) => props.onChange({ ...s, duration: e.target.value })}
          />
        )}
      </Field>
    );
  if (s.type === 'send')
    return (
      <div className="row">
        <Field label={`${label} – ${t.template}`}>
          {(id) => (
            <select
              id={id}
              required
              value={s.templateId}
              onChange={(e) => props.onChange({ ...s, templateId: e.target.value })}
            >
              <option value="">—</option>
              {props.templates.map((tpl) => (
                <option key={tpl.id} value={tpl.id}>
                  {tpl.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t.subject}>
          {(id) => (
            <input
              id={id}
              value={s.subject ?? ''}
              onChange={(e) =>
                props.onChange({
                  type: 'send',
                  templateId: s.templateId,
                  ...(e.target.value ? { subject: e.target.value } : {}),
                })
              }
            />
          )}
        </Field>
      </div>
    );
  // Branches jump forward only: to a later step or to the end.
  const targets = [...Array(props.count).keys()].filter((i) => i > props.index);
  const target = (which: 'then' | 'else', text: string) => (
    <Field label={text}>
      {(id) => (
        <select
          id={id}
          value={String(s[which])}
          onChange={(e) =>
            props.onChange({
              ...s,
              [which]: e.target.value === 'end' ? 'end' : Number(e.target.value),
            })
          }
        >
          {targets.map((i) => (
            <option key={i} value={i}>
              {t.step} {i + 1}
            </option>
          ))}
          <option value="end">{t.end}</option>
        </select>
      )}
    </Field>
  );
  return (
    <div>
      <Field label={`${label} – ${t.rule}`}>
        {(id) => (
          <textarea
            id={id}
            className="code"
            rows={3}
            value={ruleText}
            onChange={(e) => {
              setRuleText(e.target.value);
              try {
                props.onChange({ ...s, rule: JSON.parse(e.target.value) as Rule });
              } catch {
                // Kept as typed; the server names what is wrong when it is saved.
              }
            }}
          />
        )}
      </Field>
      <div className="row">
        {target('then', t.then)}
        {target('else', t.otherwise)}
      </div>
    </div>
  );
}

function StatsPanel(props: { stats: Stats }) {
  const t = useAutomationT();
  const { enrolments, exits, steps } = props.stats;
  return (
    <section className="panel" aria-labelledby="automation-stats">
      <h2 id="automation-stats">{t.stats}</h2>
      <p data-testid="automation-enrolments">
        {t.enrolments}: {enrolments.active} {t.active}, {enrolments.completed} {t.completed},{' '}
        {enrolments.exited} {t.exited}
        {Object.keys(exits).length > 0
          ? ` (${Object.entries(exits)
              .map(([why, n]) => `${why} ${n}`)
              .join(', ')})`
          : ''}
      </p>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t.step}</th>
              <th scope="col">{t.outcomes}</th>
            </tr>
          </thead>
          <tbody>
            {steps.map((s) => (
              <tr key={s.step}>
                <td>
                  {s.step + 1}. {t.stepTypes[s.type]}
                </td>
                <td>
                  {Object.entries(s.counts)
                    .map(([outcome, n]) => `${outcome} ${n}`)
                    .join(', ') || '–'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
