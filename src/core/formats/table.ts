import type { ColumnInfo } from '../result';

export interface RenderOptions {
  /** Most characters of row text for the model. */
  budget?: number;
  /** Longest cell shown, characters. */
  maxCell?: number;
}

/** A value as the model sees it: short, unambiguous, one line. */
export function cellText(v: unknown, maxCell = 120): string {
  let s: string;
  if (v === null || v === undefined) s = 'NULL';
  else if (v instanceof Date) s = Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString().replace('T00:00:00.000Z', '').replace('.000Z', 'Z');
  else if (v instanceof Uint8Array) s = `<${v.byteLength} bytes>`;
  else if (typeof v === 'object') s = JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  else s = String(v);
  s = s.replace(/\r?\n/g, '\\n').replace(/\t/g, '\\t').replace(/\|/g, '\\|');
  return s.length > maxCell ? `${s.slice(0, maxCell - 1)}…` : s;
}

/** Pipe-separated rows under a header, cut at the character budget. Returns the text and how many rows fit. */
export function renderRows(columns: ColumnInfo[], rows: unknown[][], opts: RenderOptions = {}): { text: string; shown: number } {
  const budget = opts.budget ?? 6000;
  const lines = [columns.map(c => c.name).join(' | ')];
  let used = lines[0].length;
  let shown = 0;
  for (const r of rows) {
    const line = r.map(v => cellText(v, opts.maxCell)).join(' | ');
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
