import { valueText } from '../values';

function csvField(s: string): string {
  if (s === '') return '""'; // an empty string, as PostgreSQL's COPY writes it; an unquoted empty field is NULL
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV with a header row; NULL becomes an empty field. Values are written exactly in the one value
 *  model's text (src/core/values.ts): dates "YYYY-MM-DD", timestamps ISO with their fraction, decimals and 64-bit
 *  integers with every digit, json as its text, binary as "\x…" hex, arrays as JSON. `types` (the columns' types)
 *  only place JS Dates from older sources. */
export function toCsv(columns: string[], rows: unknown[][], types?: string[]): string {
  const out = [columns.map(c => (c === '' ? '' : csvField(c))).join(',')];
  for (const r of rows) out.push(r.map((v, i) => (v === null || v === undefined ? '' : csvField(valueText(v, types?.[i])))).join(','));
  return out.join('\r\n') + '\r\n';
}

/** What the CSV text of these columns says beyond the values themselves (for the result text). */
export function csvNotes(columns: { name: string; type: string }[], rows: unknown[][]): string[] {
  const scan = new CsvNoteScan(columns);
  scan.add(rows);
  return scan.notes();
}

/** csvNotes over rows that come in chunks. */
export class CsvNoteScan {
  private readonly bin: boolean[];
  private readonly empty: boolean[];
  constructor(private readonly columns: { name: string; type: string }[]) {
    this.bin = columns.map(() => false);
    this.empty = columns.map(() => false);
  }

  add(rows: unknown[][]): void {
    for (const r of rows) {
      for (let i = 0; i < this.columns.length; i++) {
        const v = r[i];
        if (v instanceof Uint8Array) this.bin[i] = true;
        else if (v === '') this.empty[i] = true;
      }
    }
  }

  notes(): string[] {
    const bin = this.columns.filter((_, i) => this.bin[i]).map(c => c.name);
    const empty = this.columns.filter((_, i) => this.empty[i]).map(c => c.name);
    const notes: string[] = [];
    if (bin.length) notes.push(`Binary column${bin.length > 1 ? 's' : ''} ${bin.join(', ')} written as hex text ("\\x…").`);
    if (empty.length) notes.push(`Column${empty.length > 1 ? 's' : ''} ${empty.join(', ')} ${empty.length > 1 ? 'hold' : 'holds'} empty strings, written as \"\" (NULL is an empty field); some readers (pandas) read both as NULL; .parquet keeps them apart.`);
    return notes;
  }
}
