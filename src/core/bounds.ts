/** Bounded requests and replies: whatever a tool reads, its reply fits a fixed budget (model text and structured
 *  data), and whatever an agent sends, an oversized or too deeply nested request is refused with a tool error.
 *  The host applies both to every tool, so no reply can end a session (issue 15). */
import type { Limits } from './config';
import type { ColumnInfo, ResultPart, TablePart, ToolResult } from './result';
import { bytesToHex, jsonText } from './values';

/** Longest cell value in structured data, characters; longer values are cut with a marker giving their length. */
export const MAX_STRUCTURED_CELL = 4000;
/** Most columns of one table in a reply. */
export const MAX_REPLY_COLUMNS = 1000;
/** Longest column name or type in a reply. */
const MAX_NAME = 200;
/** Deepest nesting of request arguments. */
export const MAX_REQUEST_DEPTH = 64;

const fmt = (n: number) => n.toLocaleString('en-US');

/** A long string cut to `max` characters, with a marker saying how long it was. */
export function cutString(s: string, max: number): string {
  if (s.length <= max) return s;
  return `${s.slice(0, max)}… [cut: ${fmt(s.length)} chars in all]`;
}

/** Size of a request's arguments in bytes (UTF-16 length of strings as a fast stand-in) and its depth, without
 *  recursion (a request nested thousands of levels deep must not overflow the stack). Stops early past the limits. */
export function measureRequest(v: unknown, maxBytes: number, maxDepth: number): { bytes: number; depth: number; over?: 'bytes' | 'depth' } {
  let bytes = 0;
  let depth = 0;
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (d > depth) depth = d;
    if (depth > maxDepth) return { bytes, depth, over: 'depth' };
    if (typeof x === 'string') bytes += x.length + 2;
    else if (x === null || typeof x !== 'object') bytes += 8;
    else if (Array.isArray(x)) { bytes += 2; for (const y of x) stack.push([y, d + 1]); }
    else for (const [k, y] of Object.entries(x as object)) { bytes += k.length + 4; stack.push([y, d + 1]); }
    if (bytes > maxBytes) return { bytes, depth, over: 'bytes' };
  }
  return { bytes, depth };
}

/** Why a request is refused before validation, or undefined. */
/** How to send what one request cannot carry (said wherever a request is refused for its size). */
export const LARGE_DATA_HINT = 'Send large data in pieces (write_file: the first piece without append, the rest with append: true), '
  + 'or produce it where it is used (save query results and file reads with save_as).';

export function requestRefusal(name: string, input: unknown, limits: Limits): string | undefined {
  const m = measureRequest(input, limits.maxRequestBytes, MAX_REQUEST_DEPTH);
  if (m.over === 'depth') {
    return `The arguments of \`${name}\` are nested more than ${MAX_REQUEST_DEPTH} levels deep; the request was refused. Send flat arguments as the tool's schema describes.`;
  }
  if (m.over === 'bytes') {
    return `The arguments of \`${name}\` are over ${fmt(limits.maxRequestBytes)} bytes (the request limit, DATATOOLS_MAX_REQUEST_BYTES); the request was refused. `
      + LARGE_DATA_HINT;
  }
  return undefined;
}

/** The audit log's view of a refused request: its shape, not its content. */
export function requestSummary(input: unknown, limits: Limits): unknown {
  const m = measureRequest(input, Number.MAX_SAFE_INTEGER, MAX_REQUEST_DEPTH);
  const keys = input && typeof input === 'object' && !Array.isArray(input) ? Object.keys(input).slice(0, 50) : [];
  return { refusedRequest: true, keys, approxBytes: m.bytes, nestedDeeperThan: m.over === 'depth' ? MAX_REQUEST_DEPTH : undefined, limitBytes: limits.maxRequestBytes };
}

/** One cell bounded for structured data: long strings and bytes cut with a marker; nested values whose JSON is too
 *  long become their cut JSON text. */
function boundCell(v: unknown, type: string | undefined, max: number): { v: unknown; cut: boolean } {
  if (typeof v === 'string') return v.length > max ? { v: cutString(v, max), cut: true } : { v, cut: false };
  if (v instanceof Uint8Array) {
    if (v.byteLength * 2 + 2 <= max) return { v, cut: false };
    return { v: `${bytesToHex(v.subarray(0, Math.floor(max / 2)))}… [cut: ${fmt(v.byteLength)} bytes in all]`, cut: true };
  }
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    const m = measureRequest(v, max, 1_000_000);
    if (m.over) {
      let t: string;
      try { t = jsonText(v, type); } catch { t = '[a nested value too large to show]'; }
      return { v: cutString(t, max), cut: true };
    }
  }
  return { v, cut: false };
}

/** Approximate JSON size of one row (after bounding). */
function rowBytes(row: unknown[]): number {
  let n = 2;
  for (const v of row) {
    if (typeof v === 'string') n += v.length + 3;
    else if (v instanceof Uint8Array) n += v.byteLength * 2 + 5;
    else if (v !== null && typeof v === 'object' && !(v instanceof Date)) n += measureRequest(v, Number.MAX_SAFE_INTEGER, 1_000_000).bytes + 1;
    else n += 12;
  }
  return n;
}

function boundTable(p: TablePart, budget: { bytes: number; total: number }, notes: string[]): TablePart {
  const label = p.title ? `table "${cutString(p.title.replace(/\s+/g, ' '), 60)}"` : 'table';
  let columns: ColumnInfo[] = p.columns;
  let rows = p.rows;
  if (columns.length > MAX_REPLY_COLUMNS) {
    notes.push(`The structured ${label} holds the first ${fmt(MAX_REPLY_COLUMNS)} of ${fmt(columns.length)} columns; pass \`columns\` to choose others.`);
    columns = columns.slice(0, MAX_REPLY_COLUMNS);
    rows = rows.map(r => r.slice(0, MAX_REPLY_COLUMNS));
  }
  if (columns.some(c => c.name.length > MAX_NAME || c.type.length > MAX_NAME)) {
    columns = columns.map(c => ({ ...c, name: cutString(c.name, MAX_NAME), type: cutString(c.type, MAX_NAME) }));
    notes.push(`Column names longer than ${MAX_NAME} characters are cut in the ${label}.`);
  }
  budget.bytes -= columns.reduce((n, c) => n + c.name.length + c.type.length + 30, 100);
  const out: unknown[][] = [];
  let cutCells = 0;
  for (const r of rows) {
    let row = r;
    for (let i = 0; i < r.length; i++) {
      const b = boundCell(r[i], columns[i]?.type, MAX_STRUCTURED_CELL);
      if (b.cut) { if (row === r) row = r.slice(); row[i] = b.v; cutCells++; }
    }
    const size = rowBytes(row);
    if (size > budget.bytes) break;
    budget.bytes -= size;
    out.push(row);
  }
  if (cutCells) notes.push(`${fmt(cutCells)} long cell value${cutCells === 1 ? ' is' : 's are'} cut at ${fmt(MAX_STRUCTURED_CELL)} characters in the structured ${label} (each marked with its full length); use save_as or execute_code to get whole values.`);
  if (out.length < rows.length) {
    notes.push(`The structured ${label} holds ${fmt(out.length)} of the ${fmt(rows.length)} rows read: the reply's data budget is ${fmt(budget.total)} bytes. Use save_as to get every row in a file, or ask for fewer rows or columns.`);
  }
  const truncated = p.truncated || out.length < rows.length || columns.length < p.columns.length;
  return { ...p, columns, rows: out, truncated, totalRows: p.totalRows ?? (truncated ? undefined : rows.length) };
}

/** The reply bounded to the configured budgets; what was cut is said at the end of the text. */
export function boundReply(r: ToolResult, limits: Limits, opts: { structured?: boolean } = {}): ToolResult {
  const notes: string[] = [];
  if (opts.structured === false) return boundText(r, limits, notes);
  const budget = { bytes: limits.replyStructuredBytes, total: limits.replyStructuredBytes };
  const parts: ResultPart[] = [];
  for (const p of r.parts) {
    switch (p.kind) {
      case 'table': parts.push(boundTable(p, budget, notes)); break;
      case 'stream': {
        const max = Math.min(limits.replyTextChars, Math.max(0, budget.bytes));
        if (p.text.length > max) { parts.push({ ...p, text: cutString(p.text, max) }); notes.push(`The ${p.name} output is cut to ${fmt(max)} of ${fmt(p.text.length)} characters.`); }
        else parts.push(p);
        budget.bytes -= Math.min(p.text.length, max);
        break;
      }
      case 'error': parts.push({ ...p, value: cutString(p.value, 4000), traceback: cutString(p.traceback, limits.replyTextChars) }); break;
      case 'html':
        if (p.html.length > budget.bytes) { notes.push(`An HTML output of ${fmt(p.html.length)} characters is left out (over the reply's data budget).`); break; }
        budget.bytes -= p.html.length; parts.push(p); break;
      case 'image':
        if (p.data.length > Math.max(budget.bytes, limits.replyStructuredBytes)) { notes.push(`An image of ${fmt(p.data.length)} base64 characters is left out (over the reply's data budget); save it to a file instead.`); break; }
        budget.bytes -= p.data.length; parts.push(p); break;
      case 'json': {
        const m = measureRequest(p.value, Math.max(0, budget.bytes), 1_000_000);
        if (m.over) { notes.push(`A JSON value of over ${fmt(Math.max(0, budget.bytes))} bytes is left out of the reply's data.`); break; }
        budget.bytes -= m.bytes; parts.push(p); break;
      }
      default: parts.push(p);
    }
  }
  return boundText({ ...r, parts }, limits, notes);
}

/** The text cut to the budget, with the notes on what was cut at its end. */
function boundText(r: ToolResult, limits: Limits, notes: string[]): ToolResult {
  let text = r.text;
  const tail = notes.length ? `\n[Reply bounded] ${notes.join(' ')}` : '';
  const room = Math.max(1000, limits.replyTextChars - Math.min(tail.length, limits.replyTextChars / 2));
  if (text.length > room) {
    const marker = `\n… [text cut: ${fmt(text.length)} characters in all, over the reply budget of ${fmt(limits.replyTextChars)}; ask for fewer columns or rows, or use save_as / execute_code for the whole data]`;
    text = text.slice(0, Math.max(0, room - marker.length)) + marker;
  }
  text += tail.slice(0, Math.max(0, limits.replyTextChars - text.length));
  return { ...r, text };
}

/** Bytes one value holds as data, as a source would send it: UTF-8 bytes of text, bytes of binary, 8 for a number
 *  or a bigint, 1 for a boolean, nested values summed; plus 4 per value (a length word, as on PostgreSQL's wire). */
export function dataBytes(v: unknown): number {
  if (v === null || v === undefined) return 4;
  switch (typeof v) {
    case 'string': return 4 + Buffer.byteLength(v);
    case 'boolean': return 5;
    case 'number': case 'bigint': return 12;
    case 'object': break;
    default: return 12;
  }
  if (v instanceof Uint8Array) return 4 + v.byteLength;
  let n = 4;
  if (Array.isArray(v)) for (const x of v) n += dataBytes(x);
  else for (const [k, x] of Object.entries(v as object)) n += Buffer.byteLength(k) + dataBytes(x);
  return n;
}

/** Where and why a read stopped at a byte budget. `row` is 1-based among the rows read (the caller may renumber). */
export interface BudgetStop { kind: 'row' | 'result'; row: number; bytes: number; limitBytes: number }

/** The byte budgets on rows a file read may hold (DATATOOLS_MAX_ROW_MB per row, DATATOOLS_MAX_RESULT_MB in all), the
 *  same budgets as a query's: count each row as it is read; the first row that does not fit is where the read stops. */
export class RowBudget {
  readonly maxRowBytes: number;
  readonly maxResultBytes: number;
  private total = 0;
  private rows = 0;
  constructor(l: Pick<Limits, 'maxRowMb' | 'maxResultMb'>) {
    this.maxRowBytes = Math.round(l.maxRowMb * 1024 * 1024);
    this.maxResultBytes = Math.round(l.maxResultMb * 1024 * 1024);
  }
  /** Counts the next row (its values, or its size in bytes); a stop when it does not fit (it is then not counted). */
  add(row: unknown[] | number): BudgetStop | undefined {
    const bytes = typeof row === 'number' ? row : row.reduce<number>((n, v) => n + dataBytes(v), 0);
    const at = this.rows + 1;
    if (bytes > this.maxRowBytes) return { kind: 'row', row: at, bytes, limitBytes: this.maxRowBytes };
    if (this.total + bytes > this.maxResultBytes) return { kind: 'result', row: at, bytes: this.total, limitBytes: this.maxResultBytes };
    this.total += bytes;
    this.rows = at;
    return undefined;
  }
}

const mbText = (bytes: number) => `${(bytes / 1024 / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 })} MB`;

/** The sentence for a read stopped at a byte budget, e.g. "TRUNCATED: stopped at row 105, where the rows read reached
 *  the 1 MB budget on one result (DATATOOLS_MAX_RESULT_MB)". `where` adds e.g. " (line 106)". */
export function budgetStopText(s: BudgetStop, where = ''): string {
  const at = `stopped at row ${fmt(s.row)}${where}`;
  return s.kind === 'row'
    ? `TRUNCATED: ${at}, which is ${s.bytes > s.limitBytes ? `${mbText(s.bytes)}, ` : ''}over the ${mbText(s.limitBytes)} limit on one row (DATATOOLS_MAX_ROW_MB); the rows before it are exact. Read fewer columns (columns), or the long values with execute_code.`
    : `TRUNCATED: ${at}, where the rows read reached the ${mbText(s.limitBytes)} budget on one result (DATATOOLS_MAX_RESULT_MB); the rows before it are exact. Read fewer rows (n_rows) or columns (columns).`;
}
