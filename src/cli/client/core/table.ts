/** One column of a {@link renderTable} table. */
export interface Column {
  header: string;
  align?: 'left' | 'right';
  /** May be cut (ending in `…`) when the table is wider than the terminal; the last column when none is marked. */
  shrink?: boolean;
  /** The narrowest a shrinking column gets (default 8, or its header's width when wider). */
  min?: number;
  /** Applied after padding is computed, so escape codes never count as width. */
  style?: (text: string) => string;
}

const GAP = 2;
const MIN_SHRUNK = 8;

function cut(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1)}…`;
}

/**
 * Aligned table lines (header first) no wider than `maxWidth` when that is possible by cutting
 * the shrinkable columns; no trailing spaces. Cells are plain text.
 */
export function renderTable(columns: readonly Column[], rows: ReadonlyArray<readonly string[]>, maxWidth = Infinity): string[] {
  const widths = columns.map((column, i) => Math.max(column.header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const marked = columns.map((c) => c.shrink === true);
  const shrinkable = marked.some(Boolean) ? marked : columns.map((_, i) => i === columns.length - 1);
  const floor = columns.map((c, i) => Math.min(widths[i] ?? 0, Math.max(c.header.length, c.min ?? MIN_SHRUNK)));
  let excess = widths.reduce((a, b) => a + b, 0) + GAP * Math.max(0, columns.length - 1) - maxWidth;
  while (excess > 0) {
    // Take from the widest column that may still give: long cells are cut before short ones.
    let widest = -1;
    for (let i = 0; i < columns.length; i += 1) {
      if (shrinkable[i] === true && (widths[i] ?? 0) > (floor[i] ?? 0) && (widest < 0 || (widths[i] ?? 0) > (widths[widest] ?? 0))) widest = i;
    }
    if (widest < 0) break;
    widths[widest] = (widths[widest] ?? 0) - 1;
    excess -= 1;
  }
  const line = (cells: readonly string[], styled: boolean): string =>
    columns
      .map((column, i) => {
        const width = widths[i] ?? 0;
        const text = cut(cells[i] ?? '', width);
        const pad = ' '.repeat(width - text.length);
        const shown = styled && column.style !== undefined ? column.style(text) : text;
        return column.align === 'right' ? pad + shown : i === columns.length - 1 ? shown : shown + pad;
      })
      .join(' '.repeat(GAP))
      .trimEnd();
  return [line(columns.map((c) => c.header), false), ...rows.map((row) => line(row, true))];
}
