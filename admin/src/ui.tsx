import { useId, type ReactNode } from 'react';
import { href, navigate } from './router';

/** An in-app link: a real href (open in new tab works), navigation without a reload. */
export function Link(props: { to: string; children: ReactNode; current?: boolean }) {
  return (
    <a
      href={href(props.to)}
      aria-current={props.current ? 'page' : undefined}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}

/** A labelled form control; the label is always visible and tied to its input. */
export function Field(props: {
  label: string;
  children: (id: string) => ReactNode;
  hint?: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {props.children(id)}
      {props.hint ? <small>{props.hint}</small> : null}
    </div>
  );
}

export function ErrorText(props: { message: string | null }) {
  return props.message ? (
    <p role="alert" className="error">
      {props.message}
    </p>
  ) : null;
}

export function Status(props: { message: string | null }) {
  return (
    <p role="status" className="status">
      {props.message ?? ''}
    </p>
  );
}

/** Server-side pages: the cursor of each page seen so far, so "previous" needs no offset. */
export function Pager(props: {
  hasPrevious: boolean;
  nextCursor: string | null | undefined;
  onPrevious(): void;
  onNext(cursor: string): void;
  labels: { previous: string; next: string };
  /** Names the pager when a page has more than one. */
  label?: string | undefined;
}) {
  return (
    <nav className="pager" aria-label={props.label ?? 'pagination'}>
      <button type="button" disabled={!props.hasPrevious} onClick={props.onPrevious}>
        {props.labels.previous}
      </button>
      <button
        type="button"
        disabled={!props.nextCursor}
        onClick={() => props.nextCursor && props.onNext(props.nextCursor)}
      >
        {props.labels.next}
      </button>
    </nav>
  );
}
