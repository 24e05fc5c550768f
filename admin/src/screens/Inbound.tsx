import { useEffect, useState } from 'react';
import { api, messageOf } from '../api/client';
import type { Answer } from '../api/types';
import { DataTable } from '../components/DataTable';
import { useT } from '../i18n';
import { useSession } from '../session';
import { ErrorText, Pager, Status } from '../ui';

type Message = Answer<'/api/v1/inbound'>['items'][number];
type Action = 'unsubscribe' | 'ignore';
const PAGE_SIZE = 50;

/**
 * The staff inbox: inbound mail the pipeline could not decide, newest first, with its reason.
 * Each message is settled with one click (unsubscribe or dismiss); the server audits both.
 */
export function InboundScreen() {
  const t = useT();
  const { can } = useSession();
  // The cursor of each page so far (undefined: the first), so "previous" goes back one.
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [messages, setMessages] = useState<Message[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [reading, setReading] = useState<{ id: string; text: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const cursor = cursors.at(-1);

  const load = () =>
    void api
      .GET('/api/v1/inbound', {
        params: {
          query: {
            status: 'needs_review',
            limit: String(PAGE_SIZE),
            ...(cursor ? { cursor } : {}),
          },
        },
      })
      .then(({ data, error: failure }) => {
        setError(failure ? messageOf(failure) : null);
        setMessages(data?.items ?? []);
        setNextCursor(data?.nextCursor ?? null);
      });
  useEffect(load, [cursor]);

  async function act(message: Message, action: Action) {
    const { error: failure } = await api.POST('/api/v1/inbound/{id}/action', {
      params: { path: { id: message.id } },
      body: { action },
    });
    setError(failure ? messageOf(failure) : null);
    if (!failure) setStatus(`${t.settled}: ${message.from}`);
    load();
  }
  async function read(message: Message) {
    const { data, error: failure } = await api.GET('/api/v1/inbound/{id}', {
      params: { path: { id: message.id } },
    });
    if (data) setReading({ id: message.id, text: data.text });
    else setError(messageOf(failure));
  }

  return (
    <>
      <h1>{t.inbound}</h1>
      <p>{t.inboundIntro}</p>
      <ErrorText message={error} />
      <Status message={status} />
      <DataTable
        caption={t.inbound}
        testId="inbound-review"
        rows={messages}
        rowKey={(m) => m.id}
        columns={[
          { header: t.received, cell: (m) => new Date(m.receivedAt).toLocaleString() },
          { header: t.sender, cell: (m) => m.from },
          {
            header: t.subject,
            cell: (m) => (
              <>
                {m.subject}
                {reading?.id === m.id ? (
                  <pre className="code message-text">{reading.text}</pre>
                ) : null}
              </>
            ),
          },
          {
            header: t.reason,
            cell: (m) => (
              <>
                <code>{m.classification ?? ''}</code> {m.detail ?? ''}
              </>
            ),
          },
          {
            header: t.action,
            hiddenHeader: true,
            className: 'actions',
            cell: (m) => (
              <>
                <button type="button" onClick={() => void read(m)}>
                  {t.readMessage} <span className="visually-hidden">{m.subject}</span>
                </button>
                {can('inbound.write') ? (
                  <>
                    <button type="button" onClick={() => void act(m, 'unsubscribe')}>
                      {t.unsubscribeSender} <span className="visually-hidden">{m.from}</span>
                    </button>
                    <button type="button" onClick={() => void act(m, 'ignore')}>
                      {t.dismiss} <span className="visually-hidden">{m.from}</span>
                    </button>
                  </>
                ) : null}
              </>
            ),
          },
        ]}
        empty={t.nothingToReview}
      />
      <Pager
        labels={t}
        hasPrevious={cursors.length > 1}
        nextCursor={nextCursor}
        onPrevious={() => setCursors(cursors.slice(0, -1))}
        onNext={(next) => setCursors([...cursors, next])}
      />
    </>
  );
}
