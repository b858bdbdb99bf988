import type { Readable } from 'node:stream';
import type { ColumnInfo } from '../result';
import { StreamDecoder, type TextEncoding } from './textDecode';
import { RowBudget, type BudgetStop } from '../bounds';
import type { Limits } from '../config';

/**
 * JSON Lines heads that keep every value: numbers are read from their text, not through JSON.parse, so
 * 64-bit ids stay exact (int64 → bigint) and a number float64 cannot hold keeps its text (column type json);
 * nested objects and arrays are their JSON text exactly as in the file (big numbers, duplicate keys, any depth);
 * a column mixing kinds (numbers and strings, …) is json, each value its JSON text. Invalid UTF-8 and duplicate
 * keys are reported in `notes`.
 */
export interface JsonlHead {
  columns: ColumnInfo[];
  rows: unknown[][];
  more: boolean;
  encoding: string;
  notes: string[];
  /** Set when the rows stopped at a byte budget (each line counted in UTF-8 bytes): `row` is the row that did not fit. */
  stopped?: BudgetStop & { line: number };
}

type Kind = 'null' | 'boolean' | 'number' | 'string' | 'object' | 'array';
/** One top-level member: its kind, its exact JSON text, and for strings the decoded string. */
interface Raw { kind: Kind; text: string; str?: string }

const WS = /[ \t\r\n]*/y;
const NUM = /-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;

function ws(s: string, i: number): number { WS.lastIndex = i; WS.exec(s); return WS.lastIndex; }

/** The end of the (already validated) JSON value starting at i. */
function skipValue(s: string, i: number): number {
  const c = s[i];
  if (c === '"') {
    let j = i + 1;
    while (s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
    return j + 1;
  }
  if (c === '{' || c === '[') {
    const close = c === '{' ? '}' : ']';
    let j = ws(s, i + 1);
    if (s[j] === close) return j + 1;
    for (;;) {
      if (c === '{') { j = ws(s, skipValue(s, j)); j = ws(s, j + 1); } // key and ':'
      j = ws(s, skipValue(s, j));
      if (s[j] === ',') { j = ws(s, j + 1); continue; }
      return j + 1;
    }
  }
  if (c === 't' || c === 'n') return i + 4;
  if (c === 'f') return i + 5;
  NUM.lastIndex = i; NUM.exec(s);
  return NUM.lastIndex;
}

function kindAt(s: string, i: number): Kind {
  const c = s[i];
  return c === '"' ? 'string' : c === '{' ? 'object' : c === '[' ? 'array' : c === 't' || c === 'f' ? 'boolean' : c === 'n' ? 'null' : 'number';
}

/** The members of a top-level object (in order, duplicates included), or a single member "value". */
function members(line: string): [string, Raw][] {
  let i = ws(line, 0);
  const raw = (at: number, end: number): Raw => {
    const kind = kindAt(line, at); const text = line.slice(at, end);
    return kind === 'string' ? { kind, text, str: JSON.parse(text) as string } : { kind, text };
  };
  if (line[i] !== '{') return [['value', raw(i, skipValue(line, i))]];
  const out: [string, Raw][] = [];
  i = ws(line, i + 1);
  if (line[i] === '}') return out;
  for (;;) {
    const kEnd = skipValue(line, i);
    const key = JSON.parse(line.slice(i, kEnd)) as string;
    i = ws(line, ws(line, kEnd) + 1);
    const vEnd = skipValue(line, i);
    out.push([key, raw(i, vEnd)]);
    i = ws(line, vEnd);
    if (line[i] === ',') { i = ws(line, i + 1); continue; }
    return out;
  }
}

const INT64_MIN = -(2n ** 63n); const INT64_MAX = 2n ** 63n - 1n;
const isInt = (t: string) => /^-?(0|[1-9]\d*)$/.test(t) && t !== '-0';
const isInt64 = (t: string) => isInt(t) && t.length <= 20 && BigInt(t) >= INT64_MIN && BigInt(t) <= INT64_MAX;
const isInt32 = (t: string) => isInt(t) && t.length <= 11 && Number(t) >= -2147483648 && Number(t) <= 2147483647;

/** A number's value as sign, digits without leading/trailing zeros and exponent: equal keys mean equal values. */
function decimalKey(t: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([-+]?\d+))?$/.exec(t);
  if (!m) return t;
  let digits = m[2] + (m[3] ?? '');
  let exp = Number(m[4] ?? 0) - (m[3]?.length ?? 0);
  digits = digits.replace(/^0+/, '');
  if (!digits) return '0';
  const trail = /0*$/.exec(digits)![0].length;
  digits = digits.slice(0, digits.length - trail); exp += trail;
  return `${m[1]}${digits}e${exp}`;
}
/** Whether float64 holds the number's value exactly as written (1.0 and 1.50 do; 0.1 does, as JSON means it). */
function floatHolds(t: string): boolean {
  const n = Number(t);
  return Number.isFinite(n) && decimalKey(String(n)) === decimalKey(t);
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** Reads the first rows of a JSON Lines file (one object per line), stopping as soon as it has them. */
export async function readJsonlHead(stream: Readable, o: { nRows: number; columns?: string[]; encoding?: TextEncoding; budget?: Pick<Limits, 'maxRowMb' | 'maxResultMb'> }): Promise<JsonlHead> {
  const budget = o.budget ? new RowBudget(o.budget) : undefined;
  let stopped: JsonlHead['stopped'];
  const decoder = new StreamDecoder(o.encoding ?? 'utf-8', o.encoding ? 'as requested' : '');
  const objects: Map<string, Raw>[] = [];
  const dupLines: number[] = []; const dupKeys = new Set<string>();
  let more = false;
  let lineNo = 0;
  let rest = '';
  const onLine = (line: string): boolean => {
    lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (!line.trim()) return false;
    if (objects.length >= o.nRows) { more = true; return true; }
    const over = budget?.add(Buffer.byteLength(line));
    if (over) { stopped = { ...over, line: lineNo }; more = true; return true; }
    try { JSON.parse(line); } catch (e) { throw new Error(`line ${lineNo} is not valid JSON (${(e as Error).message})`); }
    const row = new Map<string, Raw>();
    for (const [k, v] of members(line)) {
      if (row.has(k)) { dupKeys.add(k); if (dupLines.at(-1) !== lineNo) dupLines.push(lineNo); row.delete(k); }
      row.set(k, v);
    }
    objects.push(row);
    return false;
  };
  try {
    let done = false;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const parts = (rest + decoder.write(chunk)).split('\n');
      rest = parts.pop()!;
      for (const l of parts) if ((done = onLine(l))) break;
      if (done) break;
      // a line longer than the row budget is stopped while it is read (its characters are at most its bytes)
      if (budget && rest.length > budget.maxRowBytes && objects.length < o.nRows) {
        stopped = { kind: 'row', row: objects.length + 1, bytes: 0, limitBytes: budget.maxRowBytes, line: lineNo + 1 };
        more = true; done = true; rest = '';
        break;
      }
    }
    if (!done) { rest += decoder.end(); if (rest) onLine(rest); }
  } finally { stream.destroy(); }

  const notes: string[] = [];
  if (decoder.invalid.count) {
    const inv = decoder.invalid;
    notes.push(`${plural(inv.count, 'invalid UTF-8 byte sequence')} on ${plural(inv.lineCount, 'line')} (${inv.lines.slice(0, 5).join(', ')}${inv.lineCount > 5 ? ', …' : ''}) ${inv.count === 1 ? 'is' : 'are'} shown as U+FFFD (�).`);
  }
  if (dupLines.length) notes.push(`Duplicate keys (${[...dupKeys].join(', ')}) on ${plural(dupLines.length, 'line')} (${dupLines.slice(0, 5).join(', ')}${dupLines.length > 5 ? ', …' : ''}): the last value of each is shown, as JSON parsers do.`);

  const names: string[] = [];
  const seen = new Set<string>();
  for (const r of objects) for (const k of r.keys()) if (!seen.has(k)) { seen.add(k); names.push(k); }
  let use = names;
  if (o.columns) {
    const missing = o.columns.filter(c => !seen.has(c));
    if (missing.length && objects.length) throw new Error(`unknown column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the rows read have ${names.join(', ')}`);
    use = o.columns;
  }
  const kept: string[] = [];
  const columns: ColumnInfo[] = [];
  const convs: ((v: Raw) => unknown)[] = [];
  for (const n of use) {
    const vals = objects.map(r => r.get(n)).filter((v): v is Raw => !!v && v.kind !== 'null');
    const kinds = new Set(vals.map(v => v.kind));
    let type = 'string'; let conv: (v: Raw) => unknown = v => v.str ?? v.text;
    if (kinds.size === 1 && kinds.has('boolean')) { type = 'boolean'; conv = v => v.text === 'true'; }
    else if (kinds.size === 1 && kinds.has('number')) {
      if (vals.every(v => isInt32(v.text))) { type = 'int32'; conv = v => Number(v.text); }
      else if (vals.every(v => isInt64(v.text))) { type = 'int64'; conv = v => BigInt(v.text); }
      else if (vals.every(v => floatHolds(v.text))) { type = 'float64'; conv = v => Number(v.text); }
      else { type = 'json'; conv = v => v.text; kept.push(n); }
    } else if (kinds.size === 1 && kinds.has('string')) { type = 'string'; conv = v => v.str; }
    else if (kinds.size >= 1) { type = 'json'; conv = v => v.text; }
    columns.push({ name: n, type });
    convs.push(conv);
  }
  if (kept.length) notes.push(`Kept as JSON number text so that no value changes (too large or too precise for int64 and float64): ${kept.join(', ')}.`);
  return {
    columns,
    rows: objects.map(r => use.map((n, i) => { const v = r.get(n); return !v || v.kind === 'null' ? null : convs[i](v); })),
    more, encoding: decoder.describe(), notes, ...(stopped ? { stopped } : {}),
  };
}
