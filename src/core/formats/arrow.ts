import type { ColumnInfo } from '../result';
import { RowBudget, type BudgetStop } from '../bounds';
import type { Limits } from '../config';
import { DistinctRanges, dateString, decimalString, timestampString, type RangedSource } from './parquet';

export interface ArrowHead {
  columns: ColumnInfo[];
  rows: unknown[][];
  /** Known for the file format only when every batch was read; undefined otherwise. */
  totalRows?: number;
  batches?: number;
  more: boolean;
  bytesRead: number;
  format: 'file' | 'stream';
  /** Set when the rows stopped at a byte budget: `row` is the row (1-based) that did not fit. */
  stopped?: BudgetStop;
}

/** Reads the first rows of an Arrow IPC file (Feather v2) or stream through ranged reads: the footer, then
 *  record batches one by one until it has enough rows. */
export async function readArrowHead(src: RangedSource, o: { nRows: number; columns?: string[]; budget?: Pick<Limits, 'maxRowMb' | 'maxResultMb'> }): Promise<ArrowHead> {
  const budget = o.budget ? new RowBudget(o.budget) : undefined;
  let stopped: BudgetStop | undefined;
  const A = await import('apache-arrow');
  const ranges = new DistinctRanges();
  // apache-arrow reads a FileHandle-like object with random access (it checks for `fd` and `stat`)
  const handle = {
    fd: -1,
    stat: async () => ({ size: src.byteLength }),
    read: async (buf: Uint8Array, off: number, len: number, pos: number) => {
      const n = Math.max(0, Math.min(len, src.byteLength - pos));
      if (n) buf.set(new Uint8Array(await src.read(pos, pos + n)), off);
      ranges.add(pos, pos + n);
      return { bytesRead: n, buffer: buf };
    },
    close: async () => undefined,
  };
  const reader = await A.RecordBatchReader.from(handle as unknown as import('node:fs/promises').FileHandle) as import('apache-arrow').RecordBatchReader;
  await reader.open();
  if (!reader.schema) throw new Error('not an Arrow IPC file or stream (no schema found)');
  const isFile = reader.isFile();
  const fields = reader.schema.fields;
  const all = fields.map(f => ({ name: f.name, type: typeName(A, f.type) }));
  let idx = all.map((_, i) => i);
  if (o.columns) {
    const missing = o.columns.filter(c => !all.some(a => a.name === c));
    if (missing.length) throw new Error(`unknown column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the file has ${all.map(a => a.name).join(', ')}`);
    idx = o.columns.map(c => all.findIndex(a => a.name === c));
  }
  const rows: unknown[][] = [];
  const batches = isFile ? (reader as unknown as { numRecordBatches: number }).numRecordBatches : undefined;
  let seen = 0;
  let batchNo = 0;
  let more = false;
  let finished = true;
  for await (const batch of reader as AsyncIterable<import('apache-arrow').RecordBatch>) {
    batchNo++;
    seen += batch.numRows;
    const cols = idx.map(i => batch.getChildAt(i));
    for (let r = 0; r < batch.numRows && rows.length < o.nRows; r++) {
      const row = cols.map(c => (c ? cellOf(A, c as Vec, r) : null));
      if (budget && (stopped = budget.add(row))) break;
      rows.push(row);
    }
    if (stopped) { finished = false; more = true; break; }
    if (rows.length >= o.nRows) {
      finished = false;
      // more rows exist if this batch had more, or (file format) batches remain; a stream cannot tell, so say more
      more = seen > rows.length || (batches !== undefined ? batchNo < batches : true);
      break;
    }
  }
  try { await reader.cancel(); } catch { /* nothing left to release */ }
  return { columns: idx.map(i => all[i]), rows, totalRows: finished || !more ? seen : undefined, batches, more, bytesRead: ranges.total, format: isFile ? 'file' : 'stream', ...(stopped ? { stopped } : {}) };
}

type DT = import('apache-arrow').DataType;
type Vec = import('apache-arrow').Vector;

const PER: Record<number, bigint> = { 0: 1n, 1: 1000n, 2: 1_000_000n, 3: 1_000_000_000n };
const UNIT: Record<number, string> = { 0: 's', 1: 'ms', 2: 'us', 3: 'ns' };

/** The logical type name, as read_parquet names Parquet's (int64, decimal(p,s), timestamp[us, UTC], list<int32>). */
function typeName(A: typeof import('apache-arrow'), t: DT): string {
  const T = A.DataType;
  if (T.isDictionary(t)) return typeName(A, (t as unknown as { dictionary: DT }).dictionary);
  if (T.isInt(t)) { const i = t as unknown as { bitWidth: number; isSigned: boolean }; return `${i.isSigned ? 'int' : 'uint'}${i.bitWidth}`; }
  if (T.isFloat(t)) return ['float16', 'float32', 'float64'][(t as unknown as { precision: number }).precision];
  if (T.isUtf8(t) || T.isLargeUtf8(t)) return 'string';
  if (T.isBinary(t) || T.isLargeBinary(t)) return 'binary';
  if (T.isFixedSizeBinary(t)) return `fixed_size_binary[${(t as unknown as { byteWidth: number }).byteWidth}]`;
  if (T.isBool(t)) return 'boolean';
  if (T.isDecimal(t)) { const d = t as unknown as { precision: number; scale: number }; return `decimal(${d.precision},${d.scale})`; }
  if (T.isDate(t)) return 'date';
  if (T.isTimestamp(t)) { const x = t as unknown as { unit: number; timezone?: string | null }; return `timestamp[${UNIT[x.unit]}${x.timezone ? ', UTC' : ''}]`; }
  if (T.isTime(t)) return `time[${UNIT[(t as unknown as { unit: number }).unit]}]`;
  if (T.isList(t) || T.isFixedSizeList(t)) return `list<${typeName(A, t.children[0].type)}>`;
  if (T.isStruct(t)) return `struct<${t.children.map(c => `${c.name}: ${typeName(A, c.type)}`).join(', ')}>`;
  if (T.isMap(t)) { const kv = t.children[0].type.children; return `map<${typeName(A, kv[0].type)}, ${typeName(A, kv[1].type)}>`; }
  return String(t).toLowerCase();
}

/** Row r of a vector in the shared value model: exact (int64 as bigint, decimals as strings, timestamps with their
 *  unit and zone, dates as strings, binary as bytes), never through a JS Date. */
function cellOf(A: typeof import('apache-arrow'), vec: Vec, r: number): unknown {
  if (!vec.isValid(r)) return null;
  const t = vec.type as DT;
  const T = A.DataType;
  const raw = () => { const d = vec.data[0]; return { values: d.values as unknown as ArrayLike<number | bigint>, at: d.offset + r }; };
  if (vec.data.length === 1) {
    if (T.isTimestamp(t)) { const { values, at } = raw(); const x = t as unknown as { unit: number; timezone?: string | null }; return timestampString(BigInt(values[at]), PER[x.unit], !!x.timezone); }
    if (T.isDate(t)) {
      const { values, at } = raw();
      return (t as unknown as { unit: number }).unit === 0 ? dateString(Number(values[at])) : dateString(Number(BigInt(values[at]) / 86_400_000n));
    }
    if (T.isDecimal(t)) {
      const d = t as unknown as { scale: number; bitWidth: number };
      const words = d.bitWidth / 32; const { values, at } = raw();
      let v = 0n;
      for (let k = words - 1; k >= 0; k--) v = (v << 32n) | BigInt(Number(values[at * words + k]) >>> 0);
      return decimalString(BigInt.asIntN(d.bitWidth, v), d.scale);
    }
  }
  const v = vec.get(r) as unknown;
  if (T.isList(t) || T.isFixedSizeList(t)) { const c = v as Vec; return Array.from({ length: c.length }, (_x, i) => cellOf(A, c, i)); }
  if (T.isStruct(t)) { const out: Record<string, unknown> = {}; t.children.forEach((f, j) => { out[f.name] = cellOf(A, vec.getChildAt(j)!.slice(r, r + 1) as Vec, 0); }); return out; }
  if (T.isMap(t)) { const m = v as { toJSON(): Record<string, unknown> } & Iterable<[unknown, unknown]>; return Array.from(m as Iterable<[unknown, unknown]>, ([k, x]) => [k, x ?? null]); }
  if (typeof v === 'number' && T.isInt(t) && (t as unknown as { bitWidth: number }).bitWidth === 64) return BigInt(v);
  return v;
}
