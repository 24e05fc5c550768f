import type { ReactNode } from 'react';

export interface Column<T> {
  header: string;
  /** Shown to screen readers only (action columns). */
  hiddenHeader?: boolean;
  cell(row: T): ReactNode;
  className?: string;
}

/**
 * A table of rows with a caption for screen readers, scrolling sideways inside its own box on a
 * narrow screen instead of widening the page.
 */
export function DataTable<T>(props: {
  caption: string;
  columns: Array<Column<T> | false>;
  rows: readonly T[];
  rowKey(row: T): string;
  rowClass?(row: T): string | undefined;
  testId?: string;
}) {
  const columns = props.columns.filter((c): c is Column<T> => c !== false);
  return (
    <div className="table-wrap">
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
