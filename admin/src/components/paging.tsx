import { useCallback, useEffect, useState } from 'react';
import { messageOf } from '../api/client';
import { useT } from '../i18n';
import { Pager } from '../ui';

interface CursorPage<T> {
  items: T[];
  nextCursor: string | null;
}
type Query = { cursor?: string };

/**
 * A collection read page by page from the server by cursor: the query (filters) and the cursors
 * of the pages before this one, so "previous" needs no offset. Changing the filters starts again
 * at the first page.
 */
export function useCursorPages<Q extends Query, T>(
  initial: Q,
  fetchPage: (query: Q) => Promise<{ data?: CursorPage<T>; error?: unknown }>,
  /** The pager's name, when the screen has more than one. */
  label?: string,
) {
  const [query, setQuery] = useState<Q>(initial);
  const [cursors, setCursors] = useState<Array<string | undefined>>([]);
  const [page, setPage] = useState<CursorPage<T> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let current = true;
    void fetchPage(query).then(({ data, error: failure }) => {
      if (!current) return;
      setError(failure ? messageOf(failure) : null);
      setPage(data ?? { items: [], nextCursor: null });
    });
    return () => {
      current = false;
    };
    // fetchPage is a stable module-level call in every screen; the query and reloads drive this.
  }, [query, version]);

  const at = (cursor: string | undefined): Q => {
    const next = { ...query };
    delete next.cursor;
    if (cursor) next.cursor = cursor;
    return next;
  };
  const pager = (
    <PagerFor
      label={label}
      hasPrevious={cursors.length > 0}
      nextCursor={page?.nextCursor}
      onPrevious={() => {
        const cursor = cursors.at(-1);
        setCursors(cursors.slice(0, -1));
        setQuery(at(cursor));
      }}
      onNext={(cursor) => {
        setCursors([...cursors, query.cursor]);
        setQuery(at(cursor));
      }}
    />
  );
  return {
    page,
    error,
    pager,
    /** New filters: back to the first page. */
    search: useCallback((next: Q) => {
      setCursors([]);
      setQuery(next);
    }, []),
    /** The same page again, after a change made on it. */
    reload: useCallback(() => setVersion((v) => v + 1), []),
  };
}

function PagerFor(props: Omit<Parameters<typeof Pager>[0], 'labels'>) {
  const t = useT();
  return <Pager labels={t} {...props} />;
}
