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
  const lines = [clipLine(columns.map(c => c.name).join(' | '), budget, columns.length, 'columns')];
  let used = lines[0].length;
  let shown = 0;
  for (const r of rows) {
    // a row of thousands of columns is cut at the budget like the header (its first cells only are rendered)
    const cells: string[] = [];
    let len = 0;
    for (let i = 0; i < r.length && len <= budget; i++) { const c = cellText(r[i], opts.maxCell, columns[i]?.type); cells.push(c); len += c.length + 3; }
    const line = clipLine(cells.join(' | '), budget, r.length, 'values');
    if (shown > 0 && used + line.length + 1 > budget) break;
    lines.push(line);
    used += line.length + 1;
    shown++;
  }
  return { text: lines.join('\n'), shown };
}

/** A header or row line cut at `max` characters, saying how many items the whole line has. */
function clipLine(line: string, max: number, items: number, what: string): string {
  return line.length <= max ? line : `${line.slice(0, max)}… [line cut; ${items.toLocaleString('en-US')} ${what} in all]`;
}

/** The column list for the model, at most `max` characters (default 4,000); a longer list says how many are left out. */
export function columnsLine(columns: ColumnInfo[], max = 4000): string {
  let out = 'columns: ';
  for (let i = 0; i < columns.length; i++) {
    const item = `${columns[i].name.length > 200 ? `${columns[i].name.slice(0, 200)}…` : columns[i].name} ${columns[i].type}`;
    if (out.length + item.length + 2 > max && i > 0) return `${out}, … and ${(columns.length - i).toLocaleString('en-US')} more (${columns.length.toLocaleString('en-US')} columns in all; pass \`columns\` to choose)`;
    out += (i ? ', ' : '') + item;
  }
  return out;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** Most columns a text file read keeps (CSV/TSV fields, JSON Lines keys). A line of 870,000 fields as strings, types
 *  and column infos costs the server hundreds of MB; the columns past this are counted, said in the result, and can be
 *  asked for by name with `columns`. */
export const MAX_FILE_COLUMNS = 20_000;
