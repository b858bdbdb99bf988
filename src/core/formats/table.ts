import type { ColumnInfo } from '../result';
import { cellText } from '../values';

export interface RenderOptions {
  /** Most characters of row text for the model. */
  budget?: number;
  /** Longest cell shown, characters. */
  maxCell?: number;
}

/** A value as the model sees it: the one value model's text (src/core/values.ts). */
export { cellText } from '../values';

/** Pipe-separated rows under a header, cut at the character budget. Returns the text and how many rows fit. */
export function renderRows(columns: ColumnInfo[], rows: unknown[][], opts: RenderOptions = {}): { text: string; shown: number } {
  const budget = opts.budget ?? 6000;
  const lines = [columns.map(c => c.name).join(' | ')];
  let used = lines[0].length;
  let shown = 0;
  for (const r of rows) {
    const line = r.map((v, i) => cellText(v, opts.maxCell, columns[i]?.type)).join(' | ');
    if (shown > 0 && used + line.length + 1 > budget) break;
    lines.push(line);
    used += line.length + 1;
    shown++;
  }
  return { text: lines.join('\n'), shown };
}

export function columnsLine(columns: ColumnInfo[]): string {
  return `columns: ${columns.map(c => `${c.name} ${c.type}`).join(', ')}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
