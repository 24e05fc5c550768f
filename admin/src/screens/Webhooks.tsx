import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api/client';
import type { Answer } from '../api/types';
import { ErrorText, Field } from '../ui';
import { useAutomationT } from './automation-strings';

type Endpoint = Answer<'/api/v1/webhooks/endpoints'>['items'][number];
type Delivery = Answer<'/api/v1/webhooks/endpoints/{id}/deliveries'>['items'][number];
type EventType = Answer<'/api/v1/webhooks/event-types'>['items'][number];

/** Webhook endpoints: add one (its secret shown once), see why one failed, re-enable it. */
export function WebhooksScreen() {
  const t = useAutomationT();
  const [endpoints, setEndpoints] = useState<Endpoint[] | null>(null);
  const [types, setTypes] = useState<EventType[]>([]);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);

  const load = useCallback(async () => {
    setEndpoints((await api.GET('/api/v1/webhooks/endpoints')).data?.items ?? []);
  }, []);
  useEffect(() => {
    void load();
    void api.GET('/api/v1/webhooks/event-types').then(({ data }) => setTypes(data?.items ?? []));
  }, [load]);

  const path = (id: string) => ({ params: { path: { id } } });
  async function setEnabled(e: Endpoint, enabled: boolean) {
    const { error: failure } = await api.PATCH('/api/v1/webhooks/endpoints/{id}', {
      ...path(e.id),
      body: { enabled },
    });
    setError(failure ? messageOf(failure) : null);
    await load();
  }
  async function rotate(e: Endpoint) {
    const { data, error: failure } = await api.POST(
      '/api/v1/webhooks/endpoints/{id}/rotate-secret',
      { ...path(e.id), body: {} },
    );
    setError(failure ? messageOf(failure) : null);
    if (data) setSecret(data.secret);
  }
  async function remove(e: Endpoint) {
    const { error: failure } = await api.DELETE('/api/v1/webhooks/endpoints/{id}', path(e.id));
    setError(failure ? messageOf(failure) : null);
    await load();
  }

  return (
    <>
      <h1>{t.webhooks}</h1>
      <NewEndpoint
        types={types}
        onCreated={(shown) => {
          setSecret(shown);
          void load();
        }}
      />
      {secret ? (
        <p role="status">
          {t.secretOnce} <code className="secret">{secret}</code>
        </p>
      ) : null}
      <ErrorText message={error} />
      {endpoints === null ? null : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t.url}</th>
                <th scope="col">{t.eventTypes}</th>
                <th scope="col">{t.status}</th>
                <th scope="col">
                  <span className="visually-hidden">{t.open}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {endpoints.map((e) => (
                <tr key={e.id}>
                  <td>
                    <code>{e.url}</code>
                  </td>
                  <td>{e.eventTypes.join(', ')}</td>
                  <td data-testid="endpoint-state">
                    {e.enabled ? t.enabled : <strong className="warn">{t.disabled}</strong>}
                    {e.consecutiveFailures > 0 ? `; ${e.consecutiveFailures} ${t.failures}` : ''}
                    {e.enabled && e.retryAt
                      ? `; ${t.nextTry} ${new Date(e.retryAt).toLocaleString()}`
                      : ''}
                    {e.disabledReason ? <div>{e.disabledReason}</div> : null}
                    {!e.disabledReason && e.lastError ? <div>{e.lastError}</div> : null}
                  </td>
                  <td className="actions">
                    <button type="button" onClick={() => setOpen(open === e.id ? null : e.id)}>
                      {t.deliveries}
                    </button>
                    <button type="button" onClick={() => void setEnabled(e, !e.enabled)}>
                      {e.enabled ? t.disable : t.enable}
                    </button>
                    <button type="button" onClick={() => void rotate(e)}>
                      {t.rotate}
                    </button>
                    <button type="button" onClick={() => void remove(e)}>
                      {t.delete}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {open ? <Deliveries endpointId={open} /> : null}
    </>
  );
}

function NewEndpoint(props: { types: EventType[]; onCreated(secret: string): void }) {
  const t = useAutomationT();
  const [url, setUrl] = useState('');
  const [chosen, setChosen] = useState<EventType[]>([]);
  const [error, setError] = useState<string | null>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const { data, error: failure } = await api.POST('/api/v1/webhooks/endpoints', {
      body: { url, eventTypes: chosen },
    });
    setError(failure ? messageOf(failure) : null);
    if (!data) return;
    setUrl('');
    setChosen([]);
    props.onCreated(data.secret);
  }
  return (
    <form className="panel" onSubmit={(e) => void submit(e)} aria-labelledby="new-endpoint">
      <h2 id="new-endpoint">{t.newEndpoint}</h2>
      <Field label={t.url}>
        {(id) => (
          <input id={id} type="url" required value={url} onChange={(e) => setUrl(e.target.value)} />
        )}
      </Field>
      <fieldset>
        <legend>{t.eventTypes}</legend>
        {props.types.map((type) => (
          <label key={type} className="check">
            <input
              type="checkbox"
              checked={chosen.includes(type)}
              onChange={(e) =>
                setChosen(e.target.checked ? [...chosen, type] : chosen.filter((c) => c !== type))
              }
            />{' '}
            {type}
          </label>
        ))}
      </fieldset>
      <button type="submit" className="primary">
        {t.add}
      </button>
      <ErrorText message={error} />
    </form>
  );
}

function Deliveries(props: { endpointId: string }) {
  const t = useAutomationT();
  const [items, setItems] = useState<Delivery[]>([]);
  useEffect(() => {
    void api
      .GET('/api/v1/webhooks/endpoints/{id}/deliveries', {
        params: { path: { id: props.endpointId } },
      })
      .then(({ data }) => setItems(data?.items ?? []));
  }, [props.endpointId]);
  return (
    <section className="panel" aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">{t.deliveries}</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t.event}</th>
              <th scope="col">{t.status}</th>
              <th scope="col">{t.attempts}</th>
              <th scope="col">{t.lastAnswer}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.id}>
                <td>
                  {d.eventType} <code>{d.eventId}</code>
                </td>
                <td>{d.status === 'delivered' ? t.delivered : t.pending}</td>
                <td>{d.attempts}</td>
                <td>{d.lastError ?? (d.lastStatus ? `HTTP ${d.lastStatus}` : '–')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
