import type { Readable } from 'node:stream';
import type { ColumnInfo } from '../result';
import { StreamDecoder, type TextEncoding } from './textDecode';
import { RowBudget, type BudgetStop } from '../bounds';
import type { Limits } from '../config';
import { MAX_FILE_COLUMNS } from './table';

/**
 * CSV heads that never change a value.
 *
 * - A column gets a type only when every value read prints back as exactly the text in the file
 *   (value → typed → text == original): `08123`, `007`, `+5`, `1e3`, `1.0` next to `1.50`, 20-digit ids and
 *   mixed columns stay text (`string`). Types: `boolean` (`true`/`false` only), `int32` (number), `int64`
 *   (bigint, the whole column), `float64` (number; only when JavaScript prints each value back identically),
 *   `decimal(p,s)` (the exact text, when every value has the same s fraction digits, p ≤ 38, and float64 would
 *   not print it back), `date` (`YYYY-MM-DD`), `time`, `timestamp` (`YYYY-MM-DDTHH:MM:SS[.f]`) and
 *   `timestamptz` (the same with `Z`), in the value model's forms only: `2024-01-02 03:04:05` stays text.
 * - Empty fields are '' in text columns and NULL in typed columns; fields missing from short rows are NULL.
 * - The header is found by comparing the first row with the rows below (types and shapes per column).
 * - Duplicate and empty header names are renamed (`a`, `a_2`; `column_3`); extra fields get added columns; all
 *   of this, the encoding, invalid bytes and skipped empty lines are in `notes`.
 */
export interface CsvHead {
  columns: ColumnInfo[];
  rows: unknown[][];
  delimiter: string;
  hasHeader: boolean;
  /** True when the file has more rows than were read. */
  more: boolean;
  bytesRead: number;
  /** The encoding used, described for the result text ("UTF-8", "windows-1252 (not valid UTF-8: …)"). */
  encoding: string;
  /** Everything the reader did that a reader of the values must know (renames, ragged rows, invalid bytes). */
  notes: string[];
  /** Set when the rows stopped at a byte budget: `row` is the data row (1-based) that did not fit, on file line `line`. */
  stopped?: BudgetStop & { line: number };
}

const CANDIDATES = [',', '\t', ';', '|'];

/** Fields per record for a delimiter, quote-aware, over the first lines of the sample (the last, maybe cut, one dropped). */
function fieldCounts(sample: string, d: string, maxRecords = 30): number[] {
  const counts: number[] = [];
  let n = 1; let q = false;
  for (let i = 0; i < sample.length && counts.length < maxRecords; i++) {
    const ch = sample[i];
    if (ch === '"') q = !q;
    else if (!q && ch === d) n++;
    else if (!q && (ch === '\n' || ch === '\r')) {
      if (ch === '\r' && sample[i + 1] === '\n') i++;
      counts.push(n); n = 1;
    }
  }
  if (counts.length === 0) counts.push(n);
  return counts;
}

/** Picks the delimiter that splits the first records into the most fields, preferring one that gives every
 *  record the same count. */
export function sniffDelimiter(sample: string): string {
  let best = ','; let bestScore = -1;
  for (const d of CANDIDATES) {
    const counts = fieldCounts(sample, d);
    const first = counts[0];
    if (first <= 1) continue;
    const consistent = counts.filter(c => c === first).length / counts.length;
    const score = consistent * 1000 + first;
    if (score > bestScore) { best = d; bestScore = score; }
  }
  return best;
}

// ---- value shapes and types -------------------------------------------------------------------------------

const INT = /^(0|-?[1-9]\d*)$/;
const DEC = /^-?(0|[1-9]\d*)\.(\d+)$/;
const NUMERIC = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const DATE = /^(\d{4})-(\d\d)-(\d\d)$/;
const TIME = /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{0,8}[1-9])?$/;
const INT64_MIN = -(2n ** 63n); const INT64_MAX = 2n ** 63n - 1n;

function isInt64(v: string): boolean {
  if (v.length > 20 || !INT.test(v)) return false;
  if (v.length < 16) return true;
  const b = BigInt(v);
  return b >= INT64_MIN && b <= INT64_MAX;
}
function isInt32(v: string): boolean {
  return v.length <= 11 && INT.test(v) && (v.length < 10 || (Number(v) >= -2147483648 && Number(v) <= 2147483647));
}
function isFloat(v: string): boolean {
  return NUMERIC.test(v) && String(Number(v)) === v;
}
const SPECIAL_FLOAT = new Set(['NaN', 'Infinity', '-Infinity']);
function decScale(v: string): number | undefined {
  const m = DEC.exec(v);
  if (!m || /^-0\.0*$/.test(v)) return undefined;
  return m[2].length;
}
/** Digits before the decimal point, without the sign. */
function intWidth(v: string): number {
  const dot = v.indexOf('.');
  return (dot < 0 ? v.length : dot) - (v[0] === '-' ? 1 : 0);
}
/** Digits before the decimal point that count for a decimal's precision ("0.5" has none). */
function intDigits(v: string): number {
  const w = intWidth(v);
  return w === 1 && v[v[0] === '-' ? 1 : 0] === '0' ? 0 : w;
}
function isDate(v: string): boolean {
  const m = DATE.exec(v);
  if (!m) return false;
  const y = Number(m[1]); const mo = Number(m[2]); const d = Number(m[3]);
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return false;
  const dim = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  return d <= dim;
}
function isTime(v: string): boolean { return TIME.test(v); }
function isTimestamp(v: string): boolean { return v.length >= 19 && v[10] === 'T' && isDate(v.slice(0, 10)) && isTime(v.slice(11)); }
function isTimestampTz(v: string): boolean { return v.endsWith('Z') && isTimestamp(v.slice(0, -1)); }

interface Inferred { type: string; /** why a numeric-looking column stays text */ why?: string }

/** The type of a column: the first that every non-empty value round-trips through, else text. */
export function inferType(values: readonly (string | undefined)[]): Inferred {
  const vs = values.filter((v): v is string => v !== undefined && v !== '');
  if (!vs.length) return { type: 'string' };
  if (vs.every(v => v === 'true' || v === 'false')) return { type: 'boolean' };
  if (vs.every(isInt64)) return { type: vs.every(isInt32) ? 'int32' : 'int64' };
  if (vs.every(v => isFloat(v) || SPECIAL_FLOAT.has(v)) && vs.some(isFloat)) return { type: 'float64' };
  const s = decScale(vs[0]);
  if (s !== undefined && vs.every(v => decScale(v) === s)) {
    const p = vs.reduce((m, v) => Math.max(m, intDigits(v)), 1) + s;
    if (p <= 38) return { type: `decimal(${p},${s})` };
  }
  if (vs.every(isDate)) return { type: 'date' };
  if (vs.every(isTime)) return { type: 'time' };
  if (vs.every(isTimestamp)) return { type: 'timestamp' };
  if (vs.every(isTimestampTz)) return { type: 'timestamptz' };
  if (vs.every(v => NUMERIC.test(v))) {
    const why = vs.some(v => /^[-+]?0\d/.test(v)) ? 'leading zeros'
      : vs.some(v => /^[-+]?\d+$/.test(v) && !isInt64(v) && !isFloat(v)) ? 'integers too large for int64 and float64'
        : vs.some(v => /^[-+]?\d+$/.test(v) && !isFloat(v) && vs.some(w => w.includes('.'))) ? 'integers a float64 cannot hold next to fractions'
          : 'number formats that would not print back the same';
    return { type: 'string', why };
  }
  return { type: 'string' };
}

/** Whether a single value is readable as the type (an empty field is NULL and fits every type). */
function fits(v: string, type: string): boolean {
  if (v === '') return true;
  if (type === 'boolean') return v === 'true' || v === 'false';
  if (type === 'int32' || type === 'int64') return isInt64(v);
  if (type === 'float64') return isFloat(v) || SPECIAL_FLOAT.has(v);
  const dec = /^decimal\((\d+),(\d+)\)$/.exec(type);
  if (dec) return decScale(v) === Number(dec[2]);
  if (type === 'date') return isDate(v);
  if (type === 'time') return isTime(v);
  if (type === 'timestamp') return isTimestamp(v);
  if (type === 'timestamptz') return isTimestampTz(v);
  return true;
}

function convert(v: string | undefined, type: string): unknown {
  if (v === undefined) return null;
  if (type === 'string') return v;
  if (v === '') return null;
  if (type === 'int32' || type === 'float64') return Number(v);
  if (type === 'int64') return BigInt(v);
  if (type === 'boolean') return v === 'true';
  return v; // decimal, date, time, timestamps: the exact text is the value model's form
}

/**
 * Whether the first record is a header, judged against the records below it, column by column:
 * - a typed column (int, float, decimal, date, …) whose first value does not fit the type: header, for sure;
 * - a numeric column whose first value fits but has another shape (no decimal point above fractions, or at least
 *   two integer digits more or fewer than every value below, e.g. `2020` above `12`): one vote for a header;
 * - a text column whose values below all have one length: a first value of another length votes for a header;
 *   one whose values below are all digits (codes with leading zeros): a first value of digits votes against, else for;
 * - a typed column whose first value has the same shape: one vote against.
 * With no votes either way and only text below, a first row without empty fields is taken as the header.
 */
export function detectHeader(records: string[][]): boolean {
  const head = records[0];
  const body = records.slice(1, 2001); // a sample is enough to judge
  if (!body.length) return head.every(v => v !== '' && inferType([v]).type === 'string' && !NUMERIC.test(v));
  let votes = 0;
  let allText = true;
  for (let c = 0; c < head.length; c++) {
    const h = head[c];
    const col = body.map(r => r[c]).filter((v): v is string => v !== undefined && v !== '');
    const { type } = inferType(col);
    if (!col.length) continue;
    if (type !== 'string') {
      allText = false;
      if (h === '') continue;
      if (!fits(h, type)) return true;
      if (type === 'int32' || type === 'int64' || type === 'float64' || type.startsWith('decimal')) {
        const dots = col.filter(v => v.includes('.')).length;
        let lo = Infinity; let hi = -Infinity;
        for (const v of col) { const w = intWidth(v); if (w < lo) lo = w; if (w > hi) hi = w; }
        const far = intWidth(h) >= hi + 2 || intWidth(h) <= lo - 2;
        const differs = (dots === col.length && !h.includes('.')) || (dots === 0 && h.includes('.')) || far;
        votes += differs ? 1 : -1;
      } else votes -= 1;
      continue;
    }
    if (h === '') continue;
    if (col.every(v => /^\d+$/.test(v))) { votes += /^\d+$/.test(h) ? -1 : 1; continue; }
    // (a name as long as the values is common, `code` over `AB12`: that is no vote against)
    const len = col[0].length;
    if (col.every(v => v.length === len) && h.length !== len) votes += 1;
  }
  if (votes !== 0) return votes > 0;
  return allText && head.every(v => v !== '');
}

function lineList(lines: number[], total: number): string {
  const shown = lines.slice(0, 5).join(', ');
  return total > 5 ? `${shown}, …` : shown;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/**
 * Takes the fields a read keeps out of CSV text before it reaches the parser, so that a line of 870,000 fields (or a
 * 100 MB one) never becomes 870,000 strings: the first `cap` fields of each record, the positions asked for, and in
 * the first record the fields whose text is a name asked for. It follows csv-parse's quoting (a quote opens a field
 * only at its start, `""` inside quotes is a quote, a closing quote not followed by a delimiter is kept as text) and
 * its record delimiters (\r\n, \n, \r). Records it cut are listed by their first line with their field count and the
 * line breaks inside the fields left out, so line numbers and the notes stay exact.
 */
export class FieldFilter {
  private st = 0; // 0: at a field's start, 1: in an unquoted field, 2: in a quoted field, 3: just after a quote in one
  private field = 0;
  private line = 1;
  private recLine = 1;
  private prevCR = false;
  private emitting = true;
  private droppedAny = false;
  private droppedBreaks = 0;
  private recEmpty = true;
  private first = true;
  private capture: string | undefined; // the text of a first-record field past the cap, while it may be a name asked for
  private readonly extraSet: Set<number>;
  private readonly found = new Set<string>();
  /** Records that had fields left out, by their first line: all their fields, and the line breaks in those left out. */
  readonly drops = new Map<number, { fields: number; breaks: number }>();
  /** Positions past the cap that are kept, ascending: field `cap + k` of a kept record is file column extra[k]. */
  readonly extra: number[];
  constructor(delimiter: string, private readonly cap: number, private readonly names?: Set<string>, positions: number[] = []) {
    this.d = delimiter.charCodeAt(0);
    this.extra = [...new Set(positions.filter(p => p >= cap))].sort((a, b) => a - b);
    this.extraSet = new Set(this.extra);
  }
  private readonly d: number;

  /** Whether the text so far ends inside a quoted field. */
  get inQuotes(): boolean { return this.st === 2 || this.st === 3; }

  private kept(f: number): boolean { return f < this.cap || this.extraSet.has(f); }

  /** The text with the fields not kept taken out (the same string when nothing is). */
  push(text: string): string {
    const out: string[] = [];
    let from = 0; // start of the text being kept, when emitting
    let capFrom = 0; // start of the captured field text in this chunk
    const d = this.d;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.st === 3) {
        if (c === 0x22) { this.st = 2; this.prevCR = false; continue; }
        this.st = 1; // closed (or, with a character other than a delimiter or line end after it, kept as text)
      }
      if (this.st === 2) {
        if (c === 0x22) this.st = 3;
        else if (c === 0x0d || (c === 0x0a && !this.prevCR)) { this.line++; if (!this.emitting) this.droppedBreaks++; }
        this.prevCR = c === 0x0d;
        this.recEmpty = false;
        continue;
      }
      if (c === d) {
        // the field ends: the next one is kept or not
        this.prevCR = false; this.recEmpty = false;
        if (this.capture !== undefined) { this.endCapture(text.slice(capFrom, i), out); }
        this.field++; this.st = 0;
        const keep = this.kept(this.field);
        if (this.emitting && !keep) { out.push(text.slice(from, i)); this.emitting = false; this.droppedAny = true; }
        else if (!this.emitting && keep) { this.emitting = true; from = i; }
        if (!keep && this.first && this.names) { this.capture = ''; capFrom = i + 1; }
        continue;
      }
      if (c === 0x0a && this.prevCR) { this.prevCR = false; continue; } // the \n of \r\n
      if (c === 0x0a || c === 0x0d) {
        this.line++;
        this.prevCR = c === 0x0d;
        if (this.capture !== undefined) this.endCapture(text.slice(capFrom, i), out);
        if (!this.emitting) { this.emitting = true; from = i; }
        this.endRecord();
        continue;
      }
      this.prevCR = false; this.recEmpty = false;
      this.st = this.st === 0 && c === 0x22 ? 2 : 1;
    }
    if (this.capture !== undefined) { this.capture += text.slice(capFrom); if (this.capture.length > 4100) this.capture = undefined; }
    if (this.emitting) { if (from === 0) { if (!out.length) return text; } out.push(text.slice(from)); }
    return out.join('');
  }

  /** The end of the input: the last record, if it has no line break after it. */
  end(): void {
    if (!this.recEmpty || this.field > 0) this.endRecord();
  }

  private endCapture(rest: string, out: string[]): void {
    const raw = this.capture! + rest;
    this.capture = undefined;
    if (raw.length > 4100) return;
    const name = raw.length >= 2 && raw[0] === '"' && raw.endsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw;
    if (!this.names!.has(name) || this.found.has(name)) return;
    this.found.add(name);
    // kept after all: the field goes to the parser, and the column is kept in every record
    out.push(String.fromCharCode(this.d) + raw);
    this.extraSet.add(this.field);
    this.extra.push(this.field);
    this.extra.sort((a, b) => a - b);
  }

  private endRecord(): void {
    if (this.droppedAny) this.drops.set(this.recLine, { fields: this.field + 1, breaks: this.droppedBreaks });
    if (!this.recEmpty || this.field > 0) this.first = false;
    this.field = 0; this.st = 0; this.droppedAny = false; this.droppedBreaks = 0; this.recEmpty = true;
    this.recLine = this.line;
  }
}

interface Rec { fields: string[]; line: number; endLine: number; /** fields in the file (more than `fields` when some were left out) */ total: number }

/** Parses the first rows of a CSV stream and stops reading: the cost does not grow with the file. */
export async function readCsvHead(stream: Readable, o: { nRows: number; columns?: string[]; encoding?: TextEncoding; header?: boolean; budget?: Pick<Limits, 'maxRowMb' | 'maxResultMb'> }): Promise<CsvHead> {
  const { parse } = await import('csv-parse');
  const SNIFF = 64 * 1024;
  const UNCLOSED_QUOTE = 16 * 1024 * 1024;
  // records are counted in bytes as they are read (the byte budgets of one result); a record longer than the row
  // budget is stopped inside the parser (its characters are at most its UTF-8 bytes)
  const budget = o.budget ? new RowBudget(o.budget) : undefined;
  const MAX_RECORD = Math.min(UNCLOSED_QUOTE, budget?.maxRowBytes ?? Infinity);
  let stop: (BudgetStop & { record: number; line: number }) | undefined;
  let bytesRead = 0;
  let delimiter = ',';
  let parser: ReturnType<typeof parse> | undefined;
  // columns past MAX_FILE_COLUMNS are left out before the parser; those asked for (by name, or column_N) are kept
  let filter: FieldFilter | undefined;
  const positions = (o.columns ?? []).map(c => /^column_([1-9]\d{0,8})$/.exec(c)).filter(m => !!m).map(m => Number(m![1]) - 1);
  let failure: Error | undefined;
  const decoder = new StreamDecoder(o.encoding);
  const records: Rec[] = [];
  const want = o.nRows + 2; // header + rows + one more to know whether there is more
  let pending: Buffer[] = []; let pendingBytes = 0;
  // line numbers are counted here (csv-parse's `info` option costs an object spread per record): a record starts on
  // the line after the previous one ends and spans the line breaks inside its quoted fields
  let nextLine = 1;
  const blank: number[] = [];
  const accept = (fields: string[]): void => {
    const line = nextLine;
    let breaks = 0;
    for (const f of fields) if (f.includes('\n') || f.includes('\r')) breaks += f.match(/\r\n|\r|\n/g)!.length;
    const cut = filter?.drops.get(line);
    if (cut) { filter!.drops.delete(line); breaks += cut.breaks; }
    nextLine = line + breaks + 1;
    if (fields.length === 1 && fields[0] === '' && !cut) { blank.push(line); return; } // an empty line (said in the notes)
    const over = budget?.add(fields);
    if (over) { stop = { ...over, record: records.length, line }; return; }
    records.push({ fields, line, endLine: line + breaks, total: cut ? cut.fields : fields.length });
  };
  const full = () => !!stop || records.length >= want;
  const take = (): void => {
    let r: string[] | null;
    while (!full() && (r = parser!.read() as string[] | null) !== null) accept(r);
  };
  const start = (text: string): void => {
    const nul = text.indexOf('\0');
    if (nul !== -1 && nul < SNIFF) throw new Error(`it is not text: it has NUL bytes (the first at character ${nul.toLocaleString('en-US')}, ${decoder.describe()}). Use read_parquet for Parquet or Arrow files, or pass encoding if it is UTF-16 without a BOM`);
    delimiter = sniffDelimiter(text.slice(0, SNIFF));
    filter = new FieldFilter(delimiter, MAX_FILE_COLUMNS, o.columns ? new Set(o.columns) : undefined, positions);
    // every line ending, also mixed in one file (csv-parse's auto-detection keeps the first one it sees)
    parser = parse({ delimiter, relax_column_count: true, relax_quotes: true, record_delimiter: ['\r\n', '\n', '\r'],
      max_record_size: MAX_RECORD });
    parser.on('error', e => {
      // a quote that is never closed would otherwise read the rest of the file into one field
      if ((e as { code?: string }).code === 'CSV_MAX_RECORD_SIZE' && budget && MAX_RECORD < UNCLOSED_QUOTE) {
        // over the row budget: the read stops at this record, the ones before it are kept
        stop ??= { kind: 'row', row: 0, bytes: 0, limitBytes: budget.maxRowBytes, record: records.length, line: nextLine };
        return;
      }
      failure = (e as { code?: string }).code !== 'CSV_MAX_RECORD_SIZE' ? e
        : filter && !filter.inQuotes
          // no quote open: a record of long values (the fields kept are over the limit), not a runaway quote
          ? new Error(`the record starting on line ${nextLine.toLocaleString('en-US')} is longer than ${UNCLOSED_QUOTE / 1024 / 1024} MiB in the columns read (its values are too long to read here); no rows were returned. Read fewer columns (columns), or the file with execute_code`)
          : new Error(`the record starting on line ${nextLine.toLocaleString('en-US')} is longer than ${UNCLOSED_QUOTE / 1024 / 1024} MiB, probably because a quote on it is never closed; no rows were returned`);
    });
  };
  const feed = (raw: string): void => {
    const text = filter!.push(raw);
    // in slices, so that a short head does not parse the whole first 64 KiB
    for (let i = 0; i < text.length && !full(); i += 8192) {
      parser!.write(text.slice(i, i + 8192));
      take();
    }
  };
  // pull-based: chunks are parsed as they arrive and reading stops (the source is destroyed) once enough rows exist
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytesRead += chunk.length;
      if (!parser) {
        // collect the first 64 KiB so that the encoding and the delimiter are chosen on a fair sample
        pending.push(chunk); pendingBytes += chunk.length;
        if (pendingBytes < SNIFF) continue;
        const text = decoder.write(Buffer.concat(pending));
        pending = [];
        start(text);
        feed(text);
      } else feed(decoder.write(chunk));
      if (failure) throw failure;
      if (full()) break;
    }
    if (!full()) {
      if (!parser) { const text = decoder.write(Buffer.concat(pending)); start(text); feed(text); }
      if (!full()) {
        feed(decoder.end());
        filter!.end();
        parser!.end();
        for await (const r of parser! as AsyncIterable<string[]>) if (!full()) accept(r);
      }
      if (failure) throw failure;
    }
  } finally {
    stream.destroy();
    parser?.destroy();
  }
  const notes: string[] = [];
  const encoding = decoder.describe();
  if (decoder.invalid.count) {
    const inv = decoder.invalid;
    notes.push(`${plural(inv.count, 'invalid UTF-8 byte sequence')} on ${plural(inv.lineCount, 'line')} (${lineList(inv.lines, inv.lineCount)}) ${inv.count === 1 ? 'is' : 'are'} shown as U+FFFD (�); if the file is not UTF-8, pass encoding (e.g. "windows-1252").`);
  }
  if (!records.length) {
    if (stop) throw new Error(`its first record (line ${stop.line.toLocaleString('en-US')}) is over the ${(stop.limitBytes / 1024 / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 })} MB limit on one row (DATATOOLS_MAX_ROW_MB); no rows were read`);
    return { columns: [], rows: [], delimiter, hasHeader: false, more: false, bytesRead, encoding, notes };
  }

  const hasHeader = o.header ?? detectHeader(records.map(r => r.fields));
  const bodyRecs = records.slice(hasHeader ? 1 : 0);
  const stopped = stop && stop.record - (hasHeader ? 1 : 0) < o.nRows
    ? { kind: stop.kind, row: stop.record - (hasHeader ? 1 : 0) + 1, bytes: stop.bytes, limitBytes: stop.limitBytes, line: stop.line } : undefined;
  const more = bodyRecs.length > o.nRows || !!stopped;
  const data = bodyRecs.slice(0, o.nRows);

  // width: the header's, or without one the most common field count; longer rows get added columns. `width` and
  // `maxWidth` count the fields kept, `fileWidth` those in the file (more when a line is wider than MAX_FILE_COLUMNS)
  let width: number;
  let fileWidth: number;
  if (hasHeader) { width = records[0].fields.length; fileWidth = records[0].total; }
  else {
    const freq = new Map<number, number>();
    for (const r of data) freq.set(r.total, (freq.get(r.total) ?? 0) + 1);
    fileWidth = [...freq].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0][0];
    width = data.find(r => r.total === fileWidth)!.fields.length;
  }
  const maxWidth = data.reduce((m, r) => Math.max(m, r.fields.length), width);
  // the file column of kept field p (past the cap: the columns asked for)
  const extra = filter?.extra ?? [];
  const colOf = (p: number) => p < MAX_FILE_COLUMNS ? p : extra[p - MAX_FILE_COLUMNS];
  const names: string[] = [];
  const taken = new Set<string>();
  const renamed: string[] = [];
  const emptyNamed: [number, number][] = []; // [file column, kept position]
  const head = hasHeader ? records[0].fields : [];
  // names from the header first (as written), then renames for empty and duplicate ones
  for (const h of head) if (h !== '') taken.add(h);
  const seen = new Set<string>();
  // where the search for a free suffix of each base name goes on (names are never freed, so the result is the same
  // as searching from the start; a line of 870,000 repeated names would otherwise take billions of steps)
  const nextK = new Map<string, number>();
  for (let p = 0; p < maxWidth; p++) {
    const c = colOf(p);
    let name = p < head.length ? head[p] : '';
    if (name === '' || seen.has(name)) {
      const base = name === '' ? `column_${c + 1}` : name;
      let k = nextK.get(base) ?? (name === '' ? 1 : 2);
      let cand = name === '' && k === 1 ? base : `${base}_${k}`;
      while (taken.has(cand) || seen.has(cand)) { k++; cand = `${base}_${k}`; }
      nextK.set(base, k + 1);
      if (p < head.length) { if (name === '') emptyNamed.push([c + 1, p]); else renamed.push(`"${name}" (column ${c + 1}) → "${cand}"`); }
      name = cand;
    }
    seen.add(name); taken.add(name);
    names.push(name);
  }
  const some = (xs: string[]) => xs.length > 50 ? `${xs.slice(0, 50).join(', ')} and ${(xs.length - 50).toLocaleString('en-US')} more` : xs.join(', ');
  if (renamed.length) notes.push(`Duplicate header names were made distinct: ${some(renamed)}.`);
  if (emptyNamed.length) notes.push(`Empty header names were named by position: column${emptyNamed.length > 1 ? 's' : ''} ${some(emptyNamed.map(e => String(e[0])))} → ${some(emptyNamed.map(e => names[e[1]]))}.`);

  // fields left out: the widest line read, and how to get the others
  const widest = Math.max(records[0].total, ...data.map(r => r.total));
  if (widest > MAX_FILE_COLUMNS && !o.columns) {
    notes.push(`Only the first ${MAX_FILE_COLUMNS.toLocaleString('en-US')} of the ${widest.toLocaleString('en-US')} columns are read; the other ${(widest - MAX_FILE_COLUMNS).toLocaleString('en-US')} are not in the result (a row that wide would not fit in memory). Pass \`columns\` to read others by name${hasHeader ? '' : ''} or by position (column_N, N from 1).`);
  }

  const longer = data.filter(r => r.total > fileWidth);
  const shorter = data.filter(r => r.total < fileWidth);
  if (longer.length) {
    const added = names.slice(width);
    notes.push(`${plural(longer.length, 'row')} ${longer.length === 1 ? 'has' : 'have'} more fields than the ${hasHeader ? 'header' : `${fileWidth} most rows have`} (line${longer.length > 1 ? 's' : ''} ${lineList(longer.map(r => r.line), longer.length)}); `
      + (added.length ? `the extra fields are in the added column${added.length > 1 ? 's' : ''} ${some(added)} (NULL in the other rows).` : `the extra fields are past the columns read.`));
  }
  if (shorter.length) {
    notes.push(`${plural(shorter.length, 'row')} ${shorter.length === 1 ? 'has' : 'have'} fewer fields than the ${hasHeader ? 'header' : `${fileWidth} most rows have`} (line${shorter.length > 1 ? 's' : ''} ${lineList(shorter.map(r => r.line), shorter.length)}); the missing fields are NULL.`);
  }
  // empty lines between the records returned (not those after the last one)
  const lastLine = (data.at(-1) ?? records[0]).line;
  const skipped = blank.filter(l => l < lastLine);
  if (skipped.length) notes.push(`Skipped ${plural(skipped.length, 'empty line')} (${lineList(skipped, skipped.length)}).`);

  const inferred = names.map((_, c) => inferType(data.map(r => r.fields[c])));
  const types = inferred.map(t => t.type);
  const kept = names.map((n, c) => inferred[c].why ? `${n} (${inferred[c].why})` : '').filter(Boolean);
  if (kept.length) notes.push(`Kept as text so that no value changes: ${kept.join(', ')}.`);
  const nulled = names.filter((_, c) => types[c] !== 'string' && data.some(r => r.fields[c] === ''));
  if (nulled.length) notes.push(`Empty fields are NULL in the typed column${nulled.length > 1 ? 's' : ''} ${nulled.join(', ')}.`);

  let idx = names.map((_, i) => i);
  if (o.columns) {
    const missing = o.columns.filter(c => !names.includes(c));
    if (missing.length) {
      const all = Math.max(records[0].total, ...data.map(r => r.total));
      throw new Error(`unknown column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the file has ${some(names)}${all > names.length ? ` (${all.toLocaleString('en-US')} columns in all; past the first ${MAX_FILE_COLUMNS.toLocaleString('en-US')}, a column is found by its name as written in the header line, or by position as column_N)` : ''}`);
    }
    idx = o.columns.map(c => names.indexOf(c));
  }
  return {
    columns: idx.map(i => ({ name: names[i], type: types[i] })),
    rows: data.map(r => idx.map(i => convert(r.fields[i], types[i]))),
    delimiter, hasHeader, more, bytesRead, encoding, notes, ...(stopped ? { stopped } : {}),
  };
}
