/**
 * Windowing for long lists with a fixed row height: which rows to put in the DOM for a scroll
 * position, and where to scroll so a row is in view. Only the rows on screen plus an overscan
 * margin exist, so a list of 100,000 rows costs the DOM what a list of fifty does.
 */

export interface RowWindow {
  /** First row in the DOM. */
  start: number;
  /** One past the last row in the DOM. */
  end: number;
}

/**
 * Rows to render: those overlapping the viewport, plus `overscan` on each side so a fast scroll
 * shows rows that are already there instead of blank space for a frame.
 */
export function visibleRows(scrollTop: number, viewportHeight: number, rowHeight: number, count: number, overscan: number): RowWindow {
  if (count <= 0 || rowHeight <= 0) return { start: 0, end: 0 };
  const top = Math.max(0, scrollTop);
  const firstVisible = Math.min(count - 1, Math.floor(top / rowHeight));
  const lastVisible = Math.min(count, Math.ceil((top + Math.max(0, viewportHeight)) / rowHeight));
  return { start: Math.max(0, firstVisible - overscan), end: Math.min(count, Math.max(lastVisible, firstVisible + 1) + overscan) };
}

/** The scrollTop that brings row `index` fully into view, moving as little as possible. */
export function scrollTopToReveal(index: number, scrollTop: number, viewportHeight: number, rowHeight: number): number {
  const rowTop = index * rowHeight;
  const rowBottom = rowTop + rowHeight;
  if (rowTop < scrollTop) return rowTop;
  if (rowBottom > scrollTop + viewportHeight) return Math.max(0, rowBottom - viewportHeight);
  return scrollTop;
}
