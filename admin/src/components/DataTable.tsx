import type { ReactNode } from 'react';
import { useT } from '../i18n';

export interface Column<T> {
  header: string;
  /** Shown to screen readers only (action columns). */
  hiddenHeader?: boolean;
  cell(row: T): ReactNode;
  className?: string;
}

/**
 * A table of rows with a caption for screen readers, scrolling sideways inside its own box on a
 * narrow screen instead of widening the page. Rows still loading (null) say so; no rows say
 * "nothing found", or `empty` when given.
 */
export function DataTable<T>(props: {
  caption: string;
  columns: Array<Column<T>>;
  rows: readonly T[] | null;
  empty?: string;
  rowKey(row: T): string;
  rowClass?(row: T): string | undefined;
  testId?: string;
}) {
  const t = useT();
  const columns = props.columns;
  if (props.rows === null) return <p>{t.loading}</p>;
  if (props.rows.length === 0) return <p>{props.empty ?? t.noResults}</p>;
  return (
    // A region that may scroll sideways takes focus, so a keyboard can scroll it too.
    <div className="table-wrap" role="region" aria-label={props.caption} tabIndex={0}>
      <table data-testid={props.testId}>
        <caption className="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" key={c.header}>
                {c.hiddenHeader ? <span className="visually-hidden">{c.header}</span> : c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr key={props.rowKey(row)} className={props.rowClass?.(row)}>
              {columns.map((c) => (
                <td key={c.header} className={c.className}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
