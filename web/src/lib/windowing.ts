// Fixed-row-height windowing for the calls list: which rows to render for a scroll position,
// so ten thousand loaded rows cost as much as the few dozen on screen.

export interface WindowInput {
  scrollTop: number; // px scrolled in the list's viewport
  viewportHeight: number; // px visible
  rowHeight: number; // px per row, > 0
  rowCount: number;
  overscan: number; // rows rendered beyond each edge
}

export interface RowWindow {
  start: number; // first row index rendered (inclusive)
  end: number; // last row index rendered (exclusive)
  totalHeight: number; // px of the whole list
}

export function computeWindow(i: WindowInput): RowWindow {
  const rowCount = Math.max(0, Math.floor(i.rowCount));
  const rowHeight = i.rowHeight > 0 ? i.rowHeight : 1;
  const totalHeight = rowCount * rowHeight;
  if (rowCount === 0) return { start: 0, end: 0, totalHeight: 0 };
  const overscan = Math.max(0, Math.floor(i.overscan));
  const viewport = Math.max(0, i.viewportHeight);
  // A scroll position past the end (rows removed while scrolled down) shows the last rows.
  const top = Math.min(Math.max(0, i.scrollTop), Math.max(0, totalHeight - viewport));
  const first = Math.floor(top / rowHeight);
  const lastVisible = Math.ceil((top + viewport) / rowHeight);
  const start = Math.max(0, first - overscan);
  const end = Math.min(rowCount, Math.max(lastVisible, first + 1) + overscan);
  return { start, end, totalHeight };
}

// Infinite scroll: fetch the next page when the rendered window comes within `threshold`
// rows of the end of what is loaded, there is a next page and none is being fetched.
export function shouldLoadMore(
  w: RowWindow,
  rowCount: number,
  hasMore: boolean,
  loading: boolean,
  threshold: number,
): boolean {
  if (!hasMore || loading) return false;
  return w.end >= rowCount - threshold;
}
