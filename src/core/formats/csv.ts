import type { Readable } from 'node:stream';
import type { ColumnInfo } from '../result';

export interface CsvHead {
  columns: ColumnInfo[];
  rows: unknown[][];
  delimiter: string;
  hasHeader: boolean;
  /** True when the file has more rows than were read. */
  more: boolean;
  bytesRead: number;
}

/** Picks the delimiter that splits the first line into the most fields, outside quotes. */
export function sniffDelimiter(sample: string): string {
  const line = sample.split(/\r?\n/)[0] ?? '';
  let best = ',';
  let bestCount = 0;
  for (const d of [',', '\t', ';', '|']) {
    let n = 0; let q = false;
    for (const ch of line) { if (ch === '"') q = !q; else if (ch === d && !q) n++; }
    if (n > bestCount) { best = d; bestCount = n; }
  }
  return best;
}

const INT = /^[-+]?\d{1,18}$/;
const FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const BOOL = /^(true|false)$/i;

function kind(v: string): string {
  if (v === '') return 'null';
  if (INT.test(v)) return 'int64';
  if (FLOAT.test(v)) return 'float64';
  if (BOOL.test(v)) return 'bool';
  if (DATE.test(v)) return 'date';
  if (TIMESTAMP.test(v)) return 'timestamp';
  return 'string';
}

function merge(a: string, b: string): string {
  if (a === b || b === 'null') return a;
  if (a === 'null') return b;
  if ((a === 'int64' && b === 'float64') || (a === 'float64' && b === 'int64')) return 'float64';
  if ((a === 'date' && b === 'timestamp') || (a === 'timestamp' && b === 'date')) return 'timestamp';
  return 'string';
}

function convert(v: string, t: string): unknown {
  if (v === '') return null;
  if (t === 'int64' || t === 'float64') return Number(v);
  if (t === 'bool') return /^true$/i.test(v);
  return v;
}

/** Parses the first rows of a CSV stream and stops reading: the cost does not grow with the file. */
export async function readCsvHead(stream: Readable, o: { nRows: number; columns?: string[] }): Promise<CsvHead> {
  const { parse } = await import('csv-parse');
  let bytesRead = 0;
  let delimiter = ',';
  let parser: ReturnType<typeof parse> | undefined;
  let failure: Error | undefined;
  const records: string[][] = [];
  const want = o.nRows + 2; // header + rows + one more to know whether there is more
  const take = (): void => {
    let r: string[] | null;
    while (records.length < want && (r = parser!.read() as string[] | null) !== null) records.push(r);
  };
  // pull-based: chunks are parsed as they arrive and reading stops (the source is destroyed) once enough rows exist
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    bytesRead += chunk.length;
    if (!parser) {
      delimiter = sniffDelimiter(chunk.subarray(0, 64 * 1024).toString('utf8').replace(/^\uFEFF/, ''));
      parser = parse({ delimiter, relax_column_count: true, relax_quotes: true, bom: true, skip_empty_lines: true });
      parser.on('error', e => { failure = e; });
    }
    parser.write(chunk);
    take();
    if (failure) throw failure;
    if (records.length >= want) break;
  }
  if (parser && records.length < want) {
    parser.end();
    for await (const r of parser as AsyncIterable<string[]>) if (records.length < want) records.push(r);
    if (failure) throw failure;
  }
  stream.destroy();
  parser?.destroy();
  if (!records.length) return { columns: [], rows: [], delimiter, hasHeader: false, more: false, bytesRead };
  // a header is a first row of non-empty, non-numeric, distinct values where the data below has numbers or types
  const head = records[0];
  const looksHeader = head.every(h => h !== '' && kind(h) === 'string') && new Set(head).size === head.length;
  const hasHeader = looksHeader && (records.length === 1 || records.slice(1).some(r => r.some((v, i) => kind(v) !== 'string' || v !== head[i])));
  const names = hasHeader ? head.map((h, i) => h.trim() || `column_${i + 1}`) : head.map((_, i) => `column_${i + 1}`);
  const body = records.slice(hasHeader ? 1 : 0);
  const more = body.length > o.nRows;
  const data = body.slice(0, o.nRows);
  const types = names.map((_, i) => data.reduce((t, r) => merge(t, kind(r[i] ?? '')), 'null'));
  let idx = names.map((_, i) => i);
  if (o.columns) {
    const missing = o.columns.filter(c => !names.includes(c));
    if (missing.length) throw new Error(`unknown column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the file has ${names.join(', ')}`);
    idx = o.columns.map(c => names.indexOf(c));
  }
  return {
    columns: idx.map(i => ({ name: names[i], type: types[i] === 'null' ? 'string' : types[i] })),
    rows: data.map(r => idx.map(i => convert(r[i] ?? '', types[i]))),
    delimiter, hasHeader, more, bytesRead,
  };
}
