import type { ReactNode } from 'react';

/** One term and its value in a list of facts (a detail pane's, a dialog's). `wide` takes a whole line of the pane. */
export function Fact({ label, className, wide = false, children }: { label: string; className?: string; wide?: boolean; children: ReactNode }) {
  return (
    <div className={wide ? 'feed-detail__wide' : undefined}>
      <dt>{label}</dt>
      <dd className={className}>{children}</dd>
    </div>
  );
}
