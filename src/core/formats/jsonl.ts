import type { Readable } from 'node:stream';
import type { ColumnInfo } from '../result';
import { StreamDecoder, type TextEncoding } from './textDecode';
import { RowBudget, type BudgetStop } from '../bounds';
import type { Limits } from '../config';
import { MAX_FILE_COLUMNS } from './table';

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

const NUM_RE = NUM;

/** The end of the JSON string starting at i (a quote), checked; an error names the position. */
function strEnd(s: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const c = s.charCodeAt(j);
    if (c === 0x22) return j + 1;
    if (c === 0x5c) {
      const e = s[j + 1];
      if (e === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(s.slice(j + 2, j + 6))) fail(s, j);
        j += 6;
      } else if (e !== undefined && '"\\/bfnrt'.includes(e)) j += 2;
      else fail(s, j + 1);
      continue;
    }
    if (Number.isNaN(c) || c < 0x20) fail(s, j);
    j++;
  }
}

function fail(s: string, at: number): never {
  throw new Error(at >= s.length ? 'Unexpected end of JSON input' : `Unexpected character ${JSON.stringify(s[at])} at position ${at}`);
}

/**
 * The end of the JSON value starting at i, checked as it goes, without building it and without recursion (a line
 * nested a million levels deep costs a byte per level): a line of any length within the file limit is scanned in
 * place. An error names the position, as JSON.parse does.
 */
let scanStack = new Uint8Array(64);
function endOfValue(s: string, i: number): number {
  // a scalar needs no stack (millions of members each end here)
  const c0 = s[i];
  if (c0 === '"') return strEnd(s, i);
  if (c0 !== '{' && c0 !== '[') {
    if (c0 === 't' || c0 === 'f' || c0 === 'n') {
      const lit = c0 === 't' ? 'true' : c0 === 'f' ? 'false' : 'null';
      if (!s.startsWith(lit, i)) fail(s, i);
      return i + lit.length;
    }
    NUM_RE.lastIndex = i;
    if (!NUM_RE.exec(s) || NUM_RE.lastIndex === i) fail(s, i);
    return NUM_RE.lastIndex;
  }
  let stack = scanStack; let depth = 0; // 1: in an object, 2: in an array
  const push = (k: number) => { if (depth === stack.length) { const t = new Uint8Array(depth * 2); t.set(stack); stack = t; if (t.length <= 1 << 20) scanStack = t; } stack[depth++] = k; };
  const key = (j: number): number => {
    if (s[j] !== '"') fail(s, j);
    j = ws(s, strEnd(s, j));
    if (s[j] !== ':') fail(s, j);
    return j + 1;
  };
  for (;;) {
    i = ws(s, i);
    const c = s[i];
    if (c === '{') {
      i = ws(s, i + 1);
      if (s[i] === '}') i++; else { push(1); i = key(i); continue; }
    } else if (c === '[') {
      i = ws(s, i + 1);
      if (s[i] === ']') i++; else { push(2); continue; }
    } else if (c === '"') i = strEnd(s, i);
    else if (c === 't' || c === 'f' || c === 'n') {
      const lit = c === 't' ? 'true' : c === 'f' ? 'false' : 'null';
      if (!s.startsWith(lit, i)) fail(s, i);
      i += lit.length;
    } else {
      NUM_RE.lastIndex = i;
      if (!NUM_RE.exec(s) || NUM_RE.lastIndex === i) fail(s, i);
      i = NUM_RE.lastIndex;
    }
    // after a value: a comma goes on in the innermost container, a closing bracket ends it
    for (;;) {
      if (!depth) return i;
      i = ws(s, i);
      const top = stack[depth - 1];
      if (s[i] === ',') { i = ws(s, i + 1); if (top === 1) i = key(i); break; }
      if (s[i] === (top === 1 ? '}' : ']')) { depth--; i++; continue; }
      fail(s, i);
    }
  }
}

function kindAt(s: string, i: number): Kind {
  const c = s[i];
  return c === '"' ? 'string' : c === '{' ? 'object' : c === '[' ? 'array' : c === 't' || c === 'f' ? 'boolean' : c === 'n' ? 'null' : 'number';
}

/** The members of a top-level object (in order, duplicates included), or a single member "value"; members whose
 *  key `keep` refuses are only counted (their values are checked, never copied). */
function members(line: string, keep: (key: string) => boolean): { out: [string, Raw][]; skipped: number } {
  let i = ws(line, 0);
  const raw = (at: number, end: number): Raw => {
    const kind = kindAt(line, at); const text = line.slice(at, end);
    return kind === 'string' ? { kind, text, str: JSON.parse(text) as string } : { kind, text };
  };
  const done = (j: number) => { if (ws(line, j) < line.length) fail(line, ws(line, j)); };
  if (line[i] !== '{') { const e = endOfValue(line, i); done(e); return { out: keep('value') ? [['value', raw(i, e)]] : [], skipped: keep('value') ? 0 : 1 }; }
  const out: [string, Raw][] = [];
  let skipped = 0;
  i = ws(line, i + 1);
  if (line[i] === '}') { done(i + 1); return { out, skipped }; }
  for (;;) {
    if (line[i] !== '"') fail(line, i);
    const kEnd = strEnd(line, i);
    const kText = line.slice(i + 1, kEnd - 1);
    const k = kText.includes('\\') ? JSON.parse(line.slice(i, kEnd)) as string : kText;
    i = ws(line, kEnd);
    if (line[i] !== ':') fail(line, i);
    i = ws(line, i + 1);
    const vEnd = endOfValue(line, i);
    if (keep(k)) out.push([k, raw(i, vEnd)]); else skipped++;
    i = ws(line, vEnd);
    if (line[i] === ',') { i = ws(line, i + 1); continue; }
    if (line[i] !== '}') fail(line, i);
    done(i + 1);
    return { out, skipped };
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
  // the columns: the keys in the order first seen, at most MAX_FILE_COLUMNS of them (or only those asked for); the
  // members of other keys are checked and counted, never kept
  const wanted = o.columns ? new Set(o.columns) : undefined;
  const names: string[] = [];
  const seen = new Set<string>();
  const otherKeys: string[] = []; // some keys not asked for, for the error on an unknown column
  const skippedOn: number[] = []; let skippedKeys = 0; let skippedLineCount = 0;
  const keep = (k: string): boolean => {
    if (seen.has(k)) return true;
    if (wanted ? wanted.has(k) : names.length < MAX_FILE_COLUMNS) { seen.add(k); names.push(k); return true; }
    if (wanted && otherKeys.length < 50 && !otherKeys.includes(k)) otherKeys.push(k);
    return false;
  };
  const onLine = (line: string): boolean => {
    lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (!line.trim()) return false;
    if (objects.length >= o.nRows) { more = true; return true; }
    const over = budget?.add(Buffer.byteLength(line));
    if (over) { stopped = { ...over, line: lineNo }; more = true; return true; }
    // short lines are checked by JSON.parse (its messages); long ones only by the scan, which builds nothing
    if (line.length <= 1024 * 1024) {
      try { JSON.parse(line); } catch (e) { throw new Error(`line ${lineNo} is not valid JSON (${(e as Error).message})`); }
    }
    let m: ReturnType<typeof members>;
    try { m = members(line, keep); } catch (e) { throw new Error(`line ${lineNo} is not valid JSON (${(e as Error).message})`); }
    if (m.skipped) { skippedKeys += m.skipped; skippedLineCount++; if (skippedOn.length < 5) skippedOn.push(lineNo); }
    const row = new Map<string, Raw>();
    for (const [k, v] of m.out) {
      if (row.has(k)) { dupKeys.add(k); if (dupLines.at(-1) !== lineNo) dupLines.push(lineNo); row.delete(k); }
      row.set(k, v);
    }
    objects.push(row);
    return false;
  };
  // the line being read, in pieces (joined once when it ends: appending chunk by chunk would copy it again and again)
  let pieces: string[] = []; let pendingChars = 0;
  // a line over the row budget: only its bytes are counted, to the end of the line, so the result can say its size
  let measuring: { row: number; line: number; bytes: number } | undefined;
  const overLine = (): void => {
    stopped = { kind: 'row', row: measuring!.row, bytes: measuring!.bytes, limitBytes: budget!.maxRowBytes, line: measuring!.line };
    more = true;
  };
  try {
    let done = false;
    const feed = (text: string): void => {
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (measuring) {
          measuring.bytes += Buffer.byteLength(nl === -1 ? text.slice(start) : text.slice(start, nl));
          if (nl !== -1) { overLine(); done = true; }
          return;
        }
        if (nl === -1) {
          if (start < text.length) { pieces.push(text.slice(start)); pendingChars += text.length - start; }
          // the rows are read and a next line has begun: there are more (it is not read to its end to know it)
          if (objects.length >= o.nRows && pieces.some(p => p.trim())) { more = true; done = true; return; }
          // a line longer than the row budget is stopped while it is read (its characters are at most its bytes)
          if (budget && pendingChars > budget.maxRowBytes && objects.length < o.nRows) {
            measuring = { row: objects.length + 1, line: lineNo + 1, bytes: pieces.reduce((n, p) => n + Buffer.byteLength(p), 0) };
            pieces = []; pendingChars = 0;
          }
          return;
        }
        const part = text.slice(start, nl);
        const line = pieces.length ? (pieces.push(part), pieces.join('')) : part;
        pieces = []; pendingChars = 0;
        if (onLine(line)) { done = true; return; }
        start = nl + 1;
      }
    };
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      feed(decoder.write(chunk));
      if (done) break;
    }
    if (!done) {
      feed(decoder.end());
      if (measuring && !done) overLine();
      else if (!done && pieces.length) onLine(pieces.join(''));
    }
  } finally { stream.destroy(); }

  const notes: string[] = [];
  if (decoder.invalid.count) {
    const inv = decoder.invalid;
    notes.push(`${plural(inv.count, 'invalid UTF-8 byte sequence')} on ${plural(inv.lineCount, 'line')} (${inv.lines.slice(0, 5).join(', ')}${inv.lineCount > 5 ? ', …' : ''}) ${inv.count === 1 ? 'is' : 'are'} shown as U+FFFD (�).`);
  }
  if (dupLines.length) notes.push(`Duplicate keys (${[...dupKeys].join(', ')}) on ${plural(dupLines.length, 'line')} (${dupLines.slice(0, 5).join(', ')}${dupLines.length > 5 ? ', …' : ''}): the last value of each is shown, as JSON parsers do.`);

  let use = names;
  if (o.columns) {
    const missing = o.columns.filter(c => !seen.has(c));
    if (missing.length && objects.length) throw new Error(`unknown column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the rows read have ${[...names, ...otherKeys].slice(0, 50).join(', ')}${otherKeys.length >= 50 ? ', …' : ''}`);
    use = o.columns;
  } else if (skippedKeys) {
    notes.push(`Only the first ${MAX_FILE_COLUMNS.toLocaleString('en-US')} keys are read as columns; ${plural(skippedKeys, 'more key')} on ${skippedLineCount === 1 ? `line ${skippedOn[0]}` : `${plural(skippedLineCount, 'line')} (${skippedOn.join(', ')}${skippedLineCount > 5 ? ', …' : ''})`} ${skippedKeys === 1 ? 'is' : 'are'} not in the result (checked, not kept: a row that wide would not fit in memory). Pass \`columns\` to read other keys by name.`);
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
