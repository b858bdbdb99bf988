// A selected range of the grid as text for the clipboard. Values are the value model's exact text (numbers with
// every digit and -0, 64-bit integers as their digits, dates/timestamps/decimals as sent), never JS renderings.
//  - TSV (Ctrl+C): values only, no header, NULL as an empty field; a value holding a tab, newline or quote is quoted
//    as spreadsheets expect.
//  - CSV: RFC 4180 with a header row, NULL as an empty field, an empty string as "" (as Export CSV writes it).
//  - Markdown: a table with a header row; "|" escaped, newlines as <br>, NULL as an empty cell.
//  - JSON: an array of objects; numbers as numbers (a 64-bit integer beyond 2^53 as a string, NaN/±Infinity as
//    strings, as the value model's JSON form), NULL as null, everything else as its text.

export type CopyFormat = 'tsv' | 'csv' | 'markdown' | 'json';

export function cellString(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  return String(v);
}

const isNull = (v: unknown) => v === null || v === undefined;

function csvField(s: string): string {
  if (s === '') return '""';
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function jsonValue(v: unknown): string {
  if (isNull(v)) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isFinite(v) ? cellString(v) : JSON.stringify(String(v));
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? String(v) : JSON.stringify(String(v));
  return JSON.stringify(String(v));
}

export function formatRange(format: CopyFormat, names: string[], rows: unknown[][]): string {
  if (format === 'tsv') {
    return rows.map(r => r.map(v => {
      if (isNull(v)) return '';
      const s = cellString(v);
      return /[\t\r\n"]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    }).join('\t')).join('\n');
  }
  if (format === 'csv') {
    return [names.map(csvField), ...rows.map(r => r.map(v => (isNull(v) ? '' : csvField(cellString(v)))))].map(l => l.join(',')).join('\r\n') + '\r\n';
  }
  if (format === 'markdown') {
    const md = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    return [line(names.map(md)), line(names.map(() => '---')), ...rows.map(r => line(r.map(v => (isNull(v) ? '' : md(cellString(v))))))].join('\n') + '\n';
  }
  return `[\n${rows.map(r => `  {${r.map((v, i) => `${JSON.stringify(names[i])}: ${jsonValue(v)}`).join(', ')}}`).join(',\n')}\n]\n`;
}
