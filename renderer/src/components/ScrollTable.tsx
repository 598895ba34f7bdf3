/**
 * A table of rows in a box that scrolls sideways on a narrow window, headed by its column names.
 * The rows are the caller's (memoized row components, each subscribed to its own row).
 */
import type { ReactNode } from 'react';

export interface TableColumn {
  label: string;
  className?: string;
  /** Named for screen readers only (a column of buttons). */
  visuallyHidden?: boolean;
}

export function ScrollTable({ label, className, columns, children }: { label: string; className: string; columns: readonly (string | TableColumn)[]; children: ReactNode }) {
  return (
    <div className="table-scroll">
      <table aria-label={label} className={className}>
        <thead>
          <tr>
            {columns.map((column) => {
              const { label: name, className: columnClass, visuallyHidden = false } = typeof column === 'string' ? { label: column } : column;
              return (
                <th key={name} scope="col" className={columnClass}>
                  {visuallyHidden ? <span className="visually-hidden">{name}</span> : name}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
