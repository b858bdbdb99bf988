import { ToolError, type ColumnInfo } from '../result';
import { rowBytes } from '../store';
import { daysFromDate, epochFromTimestamp, logicalType, microsFromTime, valueText, type LogicalType } from '../values';

/** A Parquet schema element as hyparquet-writer takes it (kept loose so this module needs none of its types). */
type Element = Record<string, unknown> & { name: string };

const FAIL = Symbol('fail');
type Conv = (v: unknown) => unknown;

interface Leaf { element: Omit<Element, 'name'>; conv: Conv; what: string }

function decimalDigits(v: unknown): { sign: string; int: string; frac: string } | undefined {
  const s = typeof v === 'string' ? v : typeof v === 'bigint' ? v.toString() : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
  const m = s === undefined ? null : /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s.trim());
  if (!m || (m[2] === '' && !m[3])) return undefined;
  return { sign: m[1] === '-' ? '-' : '', int: m[2].replace(/^0+/, ''), frac: m[3] ?? '' };
}

/** What a column's values say about how they can be stored (gathered in one pass, row by row). */
interface Facts { scale: number; intDigits: number; nonDecimal: boolean; nanos: boolean }
const NO_FACTS: Facts = { scale: 0, intDigits: 1, nonDecimal: false, nanos: false };

/** How one logical type is stored, given what every (non-null, flattened) value of the column says; undefined = as text. */
function leafFor(lt: LogicalType, facts: Facts): Leaf | undefined {
  if (lt.unsigned === 8 || lt.unsigned === 16 || lt.unsigned === 32) {
    // unsigned stays unsigned: INT32 with the UINT_8/16/32 converted type (no INTEGER logical type, see uint64
    // below); hyparquet-writer stores a UINT_32 value over 2^31-1 as its two's complement bits, statistics in
    // unsigned order
    const w = lt.unsigned;
    return { element: { type: 'INT32', converted_type: `UINT_${w}` },
      conv: v => { const n = typeof v === 'bigint' && v >= 0n && v < 2n ** 32n ? Number(v) : v; return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < 2 ** w && !Object.is(n, -0) ? n : FAIL; }, what: `UINT${w}` };
  }
  switch (lt.kind) {
    case 'bool':
      return { element: { type: 'BOOLEAN' }, conv: v => (typeof v === 'boolean' ? v : FAIL), what: 'BOOLEAN' };
    case 'int32':
      return { element: { type: 'INT32' }, conv: v => { const n = typeof v === 'bigint' ? Number(v) : v; return typeof n === 'number' && Number.isInteger(n) && n >= -2147483648 && n <= 2147483647 ? n : FAIL; }, what: 'INT32' };
    case 'int64':
      return { element: { type: 'INT64' }, conv: v => { try { const b = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : FAIL; return typeof b === 'bigint' && b >= -(2n ** 63n) && b < 2n ** 63n ? b : FAIL; } catch { return FAIL; } }, what: 'INT64' };
    case 'uint64':
      // the converted type only: hyparquet-writer writes the INTEGER logical type's bitWidth as a Thrift i32 where the
      // format has an i8, and readers (DuckDB) refuse the whole file's metadata
      return { element: { type: 'INT64', converted_type: 'UINT_64' },
        conv: v => { const b = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : FAIL; return typeof b === 'bigint' && b >= 0n && b < 2n ** 64n ? b : FAIL; }, what: 'UINT64' };
    case 'float32':
      return { element: { type: 'FLOAT' }, conv: v => (typeof v === 'number' ? v : FAIL), what: 'FLOAT' };
    case 'float64':
      return { element: { type: 'DOUBLE' }, conv: v => (typeof v === 'number' ? v : FAIL), what: 'DOUBLE' };
    case 'decimal': {
      if (facts.nonDecimal) return undefined; // NaN, Infinity: no DECIMAL holds them
      let { scale, intDigits } = facts;
      if (lt.precision !== undefined && lt.scale !== undefined && lt.scale >= scale && lt.precision - lt.scale >= intDigits && lt.precision <= 38) {
        scale = lt.scale; intDigits = lt.precision - lt.scale;
      }
      const precision = intDigits + scale;
      if (precision > 38) return undefined;
      const physical = precision <= 18 ? { type: 'INT64' } : { type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16 };
      return {
        element: { ...physical, converted_type: 'DECIMAL', precision, scale, logical_type: { type: 'DECIMAL', precision, scale } },
        conv: v => { const d = decimalDigits(v); return d && d.frac.length <= scale ? BigInt(`${d.sign}${d.int || '0'}${d.frac.padEnd(scale, '0')}`) : FAIL; },
        what: `DECIMAL(${precision},${scale})`,
      };
    }
    case 'date':
      return { element: { type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } },
        conv: v => (typeof v === 'string' ? daysFromDate(v) ?? FAIL : v instanceof Date && !Number.isNaN(v.getTime()) ? Math.floor(v.getTime() / 86_400_000) : FAIL), what: 'DATE' };
    case 'time':
      return { element: { type: 'INT64', logical_type: { type: 'TIME', isAdjustedToUTC: false, unit: 'MICROS' } },
        conv: v => (typeof v === 'string' ? microsFromTime(v) ?? FAIL : FAIL), what: 'TIME(MICROS)' };
    case 'timestamp': case 'timestamptz': {
      const utc = lt.kind === 'timestamptz';
      const nanos = facts.nanos;
      const unit = nanos ? 'NANOS' : 'MICROS';
      const zoneOk = (s: string) => (utc ? s.endsWith('Z') : !s.endsWith('Z'));
      return {
        element: { type: 'INT64', ...(utc && !nanos ? { converted_type: 'TIMESTAMP_MICROS' } : {}), logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: utc, unit } },
        conv: v => {
          if (typeof v === 'string') return zoneOk(v) ? epochFromTimestamp(v, nanos) ?? FAIL : FAIL;
          if (v instanceof Date && !Number.isNaN(v.getTime())) return BigInt(v.getTime()) * (nanos ? 1_000_000n : 1000n);
          return FAIL;
        },
        what: `TIMESTAMP(${unit}, ${utc ? 'UTC' : 'no zone'})`,
      };
    }
    case 'json':
      // JSON logical type over UTF-8 text, the text as it is (hyparquet-writer's own JSON conversion would re-serialise
      // it through JS numbers and objects: big numbers, duplicate keys would change)
      return { element: { type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'JSON' } }, conv: v => (typeof v === 'string' ? v : FAIL), what: 'JSON' };
    case 'bytes':
      return { element: { type: 'BYTE_ARRAY' }, conv: v => (v instanceof Uint8Array ? v : FAIL), what: 'BYTE_ARRAY' };
    case 'uuid':
      return { element: { type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16, logical_type: { type: 'UUID' } },
        conv: v => (typeof v === 'string' && /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(v) ? v : FAIL), what: 'UUID' };
    default:
      return undefined;
  }
}

/** Reads the non-null values of one leaf, one at a time: the facts leafFor needs, and the first value each
 *  possible conversion refuses (a timestamp column's unit, µs or ns, is known only after the last value). */
class LeafScan {
  private facts: Facts = { ...NO_FACTS };
  private firstNonDecimal: { v: unknown } | undefined;
  /** The conversions the final leaf may use, each with the first value it refused. */
  private checks: { nanos?: boolean; conv: Conv; bad?: { v: unknown } }[];
  constructor(private readonly lt: LogicalType) {
    if (lt.kind === 'timestamp' || lt.kind === 'timestamptz') {
      this.checks = [false, true].map(nanos => ({ nanos, conv: leafFor(lt, { ...NO_FACTS, nanos })!.conv }));
    } else if (lt.kind === 'decimal') {
      this.checks = []; // a decimal's conversion refuses exactly what is not decimal digits
    } else {
      const l = leafFor(lt, NO_FACTS);
      this.checks = l ? [{ conv: l.conv }] : [];
    }
  }

  add(v: unknown): void {
    const f = this.facts;
    if (this.lt.kind === 'decimal') {
      if (f.nonDecimal) return;
      const d = decimalDigits(v);
      if (!d) { f.nonDecimal = true; this.firstNonDecimal = { v }; return; }
      if (d.frac.length > f.scale) f.scale = d.frac.length;
      if (d.int.length > f.intDigits) f.intDigits = d.int.length;
      return;
    }
    if (!f.nanos && typeof v === 'string' && (this.lt.kind === 'timestamp' || this.lt.kind === 'timestamptz') && /\.\d{7,}/.test(v)) f.nanos = true;
    for (const c of this.checks) if (!c.bad && c.conv(v) === FAIL) c.bad = { v };
  }

  /** The leaf (undefined: none fits) and the first value it refuses (undefined: it takes every value). */
  result(): { leaf?: Leaf; bad?: { v: unknown } } {
    const leaf = leafFor(this.lt, this.facts);
    if (!leaf) return { bad: this.firstNonDecimal };
    const check = this.checks.find(c => c.nanos === undefined || c.nanos === this.facts.nanos);
    return { leaf, bad: check?.bad };
  }
}

const TEXT_LEAF: Leaf = { element: { type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } }, conv: v => valueText(v), what: 'STRING' };

/** Why a kind is always written as text. */
const AS_TEXT: Partial<Record<LogicalType['kind'], string>> = {
  timetz: 'as text ("HH:MM:SS+HH:MM"): Parquet\'s TIME has no offset',
  interval: 'as ISO 8601 duration text: Parquet\'s INTERVAL holds only whole milliseconds',
};

function convertAll(values: unknown[], conv: Conv): unknown[] | undefined {
  const out = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) { out[i] = null; continue; }
    const c = conv(v);
    if (c === FAIL) return undefined;
    out[i] = c;
  }
  return out;
}

/** How a column is written: its schema elements and the conversion of each non-null value (FAIL: the value does not
 *  fit, which a second pass over the same rows never meets). */
interface ColumnPlan { elements: Element[]; conv: Conv; note?: string }

/** Reads one column's values row by row (first pass) and then says how the column is written: the same decision
 *  for the same values whether the rows come at once or in chunks. */
class ColumnScan {
  private readonly lt: LogicalType;
  private readonly leaf?: LeafScan;
  /** list columns: a value that is not a list; a list inside a list */
  private notList = false;
  private nested = false;
  private readonly elementText: boolean = false;
  constructor(private readonly name: string, private readonly type: string) {
    this.lt = logicalType(type);
    if (this.lt.kind === 'list') {
      const el = this.lt.element ?? { kind: 'other' };
      this.elementText = !!AS_TEXT[el.kind] || el.kind === 'text' || el.kind === 'other';
      if (!this.elementText) this.leaf = new LeafScan(el);
    } else if (!AS_TEXT[this.lt.kind] && this.lt.kind !== 'text' && this.lt.kind !== 'other') {
      this.leaf = new LeafScan(this.lt);
    }
  }

  /** One non-null value. */
  add(v: unknown): void {
    if (this.lt.kind !== 'list') { this.leaf?.add(v); return; }
    if (this.notList) return;
    if (!Array.isArray(v)) { this.notList = true; return; }
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (Array.isArray(x)) this.nested = true;
      if (x !== null && x !== undefined && !this.nested) this.leaf?.add(x);
    }
  }

  plan(): ColumnPlan {
    const { name, type, lt } = this;
    const asText = (note?: string): ColumnPlan => ({ elements: [{ name, repetition_type: 'OPTIONAL', ...TEXT_LEAF.element }], conv: v => valueText(v, type), note });
    if (lt.kind === 'list') {
      const el = lt.element ?? { kind: 'other' };
      if (this.notList) return asText(`column ${name} (${type}) written as text: not every value is a list`);
      if (this.nested) return asText(`column ${name} (${type}) written as JSON text: multi-dimensional arrays have no Parquet list form here`);
      const r = this.elementText ? { leaf: TEXT_LEAF, bad: undefined } : this.leaf!.result();
      if (!r.leaf || r.bad) return asText(`column ${name} (${type}) written as JSON text: its elements do not fit a Parquet type exactly`);
      const leaf = r.leaf;
      return {
        elements: [
          { name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST', logical_type: { type: 'LIST' } },
          { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
          { name: 'element', repetition_type: 'OPTIONAL', ...leaf.element },
        ],
        conv: v => (Array.isArray(v) ? convertAll(v, leaf.conv) ?? FAIL : FAIL),
        note: AS_TEXT[el.kind] ? `column ${name} (${type}): elements written ${AS_TEXT[el.kind]}` : undefined,
      };
    }
    if (AS_TEXT[lt.kind]) return asText(`column ${name} (${type}) written ${AS_TEXT[lt.kind]}`);
    if (!this.leaf) return asText();
    const { leaf, bad } = this.leaf.result();
    if (!leaf || bad) {
      return asText(`column ${name} (${type}) written as text: ${bad !== undefined ? `the value ${JSON.stringify(valueText(bad.v, type)).slice(0, 60)} has no exact` : 'its values have no exact'} ${leaf?.what ?? 'Parquet DECIMAL (at most 38 digits)'} form`);
    }
    return { elements: [{ name, repetition_type: 'OPTIONAL', ...leaf.element }], conv: leaf.conv };
  }
}

export interface ParquetOutput {
  bytes: Uint8Array;
  /** What was stored in another form than the column's type (for the result text). */
  notes: string[];
}

/** Rows to write, in chunks; called once per pass (twice), and must give the same rows each time (a stored result's
 *  scan does). */
export type RowSource = () => AsyncIterable<unknown[][]> | Iterable<unknown[][]>;

/** Receives the file's bytes in order; a rejection stops the write. The bytes are the sink's to keep. */
export type ByteSink = (bytes: Uint8Array) => Promise<void> | void;

export interface ParquetStreamOptions {
  /** Rows per row group (default 100,000). */
  rowGroupRows?: number;
  /** A row group is also closed when its rows reach this many bytes (as the result store counts them; default 32 MB). */
  rowGroupBytes?: number;
}

export interface ParquetStreamResult {
  notes: string[];
  rows: number;
  bytes: number;
}

/** Writes a table as Parquet in bounded memory: a first pass over `source` decides each column's Parquet type from
 *  all its values (exactly as for rows in memory: DECIMAL scale, TIMESTAMP unit, what must be text), a second pass
 *  converts the rows and hands each row group to `sink` as soon as it is full. Memory: one row group of rows and its
 *  encoded bytes, plus the file's metadata (one entry per row group and column). Each column is in the Parquet type
 *  of its logical type (src/core/values.ts): DECIMAL, DATE, TIMESTAMP(µs/ns, UTC or not), TIME, INT64, UINT_8..64,
 *  JSON, UUID, LIST; what has no exact Parquet form (timetz, interval, NaN in a numeric) is written as text and said in `notes`. */
export async function writeParquetStream(columns: ColumnInfo[], source: RowSource, sink: ByteSink, opts: ParquetStreamOptions = {}): Promise<ParquetStreamResult> {
  const groupRows = Math.max(1, opts.rowGroupRows ?? 100_000);
  const groupBytes = opts.rowGroupBytes ?? 32 * 1024 * 1024;
  const { ByteWriter, ParquetWriter } = await import('hyparquet-writer');
  const names = new Set<string>();
  const notes: string[] = [];
  const scans = columns.map((c, i) => {
    let name = c.name || `column_${i + 1}`;
    while (names.has(name)) name = `${name}_`;
    const renamed = name !== c.name ? `column ${i + 1} "${c.name}" written as "${name}" (Parquet needs unique, non-empty names)` : undefined;
    names.add(name);
    return { name, renamed, scan: new ColumnScan(name, c.type) };
  });
  // first pass: every value of every column decides its type
  let total = 0;
  for await (const chunk of source()) {
    total += chunk.length;
    for (let i = 0; i < scans.length; i++) {
      const s = scans[i].scan;
      for (const r of chunk) { const v = r[i]; if (v !== null && v !== undefined) s.add(v); }
    }
  }
  const plans = scans.map(s => ({ name: s.name, plan: s.scan.plan() }));
  scans.forEach((s, i) => { if (s.renamed) notes.push(s.renamed); const note = plans[i].plan.note; if (note) notes.push(note); });
  const schema = [{ name: 'root', num_children: plans.length }, ...plans.flatMap(p => p.plan.elements)];

  // second pass: row groups as they fill, each flushed to the sink before more rows are read
  let bytes = 0;
  const writer = new ByteWriter() as InstanceType<typeof ByteWriter> & { flush?: () => Promise<void> };
  const drain = async () => {
    if (!writer.index) return;
    const out = new Uint8Array(writer.buffer.slice(0, writer.index));
    writer.index = 0;
    bytes += out.byteLength;
    await sink(out);
  };
  writer.flush = drain;
  writer.finish = drain;
  const pq = new ParquetWriter({ writer, schema: schema as never });
  let cols: unknown[][] = plans.map(() => []);
  let n = 0, nBytes = 0, written = 0;
  const changed = () => new ToolError('The result changed while it was being written to Parquet; nothing was written. Try again.');
  const flushGroup = async () => {
    if (!n) return;
    await pq.write({ columnData: plans.map((p, i) => ({ name: p.name, data: cols[i] })) as never, rowGroupSize: n });
    written += n;
    cols = plans.map(() => []);
    n = 0; nBytes = 0;
  };
  for await (const chunk of source()) {
    for (const r of chunk) {
      for (let i = 0; i < plans.length; i++) {
        const v = r[i];
        if (v === null || v === undefined) { cols[i].push(null); continue; }
        const c = plans[i].plan.conv(v);
        if (c === FAIL) throw changed();
        cols[i].push(c);
      }
      n++;
      if (groupBytes !== Infinity) nBytes += rowBytes(r);
      if (n >= groupRows || nBytes >= groupBytes) await flushGroup();
    }
  }
  await flushGroup();
  if (written !== total) throw changed();
  await pq.finish();
  return { notes, rows: written, bytes };
}

/** A table as Parquet bytes (writeParquetStream into memory, row groups of `rowGroupSize` rows). */
export async function toParquetFile(columns: ColumnInfo[], rows: unknown[][], rowGroupSize = 100_000): Promise<ParquetOutput> {
  const parts: Uint8Array[] = [];
  const r = await writeParquetStream(columns, () => [rows], b => { parts.push(b); }, { rowGroupRows: rowGroupSize, rowGroupBytes: Infinity });
  const out = new Uint8Array(r.bytes);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.byteLength; }
  return { bytes: out, notes: r.notes };
}

/** toParquetFile without the notes. */
export async function toParquet(columns: ColumnInfo[], rows: unknown[][], rowGroupSize = 100_000): Promise<Uint8Array> {
  return (await toParquetFile(columns, rows, rowGroupSize)).bytes;
}
