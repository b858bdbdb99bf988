/** Spill files of the result store (issue 15): a result that does not fit the store's memory budget is written as
 *  an Arrow IPC file (the "file" format: magic, schema, one record batch per chunk, footer), so other tools
 *  (apache-arrow's tableFromIPC and arrow-rs in the tests; any Arrow IPC reader) can read it, and the store can read
 *  one chunk back without reading the rest: it keeps each batch's byte range and the schema message in memory.
 *
 *  Exact for every value of the value model. Each column gets the Arrow type its logical type and its values allow:
 *  booleans Bool, 8/16/32-bit integers Int32 (unsigned ones UInt8/UInt16/UInt32), float4 Float32 (when every value
 *  is a float32), other numbers Float64 (NaN, ±Infinity and -0 as they are), int64 Int64 and uint64 UInt64 (bigint; bigints past 64 bits as their decimal
 *  text in Utf8, `datatools:encoding` = `bigint`), dates Date32, timestamps
 *  Timestamp[µs or ns] (UTC for timestamps with a zone), bytes Binary, and decimals, times, intervals, JSON, uuids
 *  and text Utf8 with their exact text. A value is only written in such a type when reading it back gives the same
 *  value (the date and timestamp text is checked by converting it back); a column with any value that does not fit
 *  (mixed JS types, numbers past 64 bits, nested arrays or objects, strings that are not valid Unicode, undefined)
 *  is written as Binary holding `node:v8` serialize() of each value, with field metadata `datatools:encoding` = `v8`.
 *  Every field names its encoding, the original column name and type in its metadata.
 *
 *  The encodings are chosen from the rows of the first write; when later rows (a result still streaming in) do not
 *  fit them, the file is rewritten once with the wider encodings, with the same chunk boundaries. */
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import type { ColumnInfo } from './result';
import { logicalType } from './values';
import { dateString, timestampString } from './formats/parquet';

type Arrow = typeof import('apache-arrow');
type Data = import('apache-arrow').Data;

export type Encoding = 'bool' | 'int32' | 'uint8' | 'uint16' | 'uint32' | 'float32' | 'float64' | 'int64' | 'uint64' | 'bigint' | 'utf8' | 'binary' | 'date32'
  | 'timestamp[us]' | 'timestamp[ns]' | 'timestamp[us, UTC]' | 'timestamp[ns, UTC]' | 'v8';

/** The extra last field written when some row has another length than the column list: null for a row of the
 *  usual length, else v8 serialize() of { length, extra: cells past the columns }. */
const SHAPE_FIELD = '__datatools_row_shape';

const I64_MIN = -(2n ** 63n), I64_END = 2n ** 63n, U64_END = 2n ** 64n;

const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();
const isPlainBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array && Object.getPrototypeOf(v) === Uint8Array.prototype;

/** Days since 1970-01-01 of a proleptic Gregorian date (days_from_civil, H. Hinnant; any signed year). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const DATE = /^(-?\d{4,})-(\d\d)-(\d\d)$/;
/** Days of a value-model date string, only when dateString gives back the same text (so reading is exact). */
function dateDays(s: string, verify = true): number | undefined {
  const m = DATE.exec(s);
  if (!m) return undefined;
  const days = daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
  if (days < -(2 ** 31) || days >= 2 ** 31) return undefined;
  return !verify || dateString(days) === s ? days : undefined;
}

const TS = /^(-?\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z?)$/;
/** A value-model timestamp string in units of 1/perSecond s since the epoch, only when timestampString gives back
 *  the same text and the value fits in an int64. */
function timestampUnits(s: string, perSecond: bigint, digits: number, utc: boolean, verify = true): bigint | undefined {
  const m = TS.exec(s);
  if (!m || (m[8] === 'Z') !== utc || (m[7] ?? '').length > digits) return undefined;
  const days = daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
  const secs = BigInt(days) * 86400n + BigInt(Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]));
  const v = secs * perSecond + BigInt((m[7] ?? '').padEnd(digits, '0') || '0');
  if (v < I64_MIN || v >= I64_END) return undefined;
  return !verify || timestampString(v, perSecond, utc) === s ? v : undefined;
}

const TS_UNIT: Record<string, { per: bigint; digits: number; utc: boolean }> = {
  'timestamp[us]': { per: 1_000_000n, digits: 6, utc: false }, 'timestamp[ns]': { per: 1_000_000_000n, digits: 9, utc: false },
  'timestamp[us, UTC]': { per: 1_000_000n, digits: 6, utc: true }, 'timestamp[ns, UTC]': { per: 1_000_000_000n, digits: 9, utc: true },
};

const UINT_BITS = { uint8: 8, uint16: 16, uint32: 32 } as const;

/** Whether a non-null value is written exactly in an encoding. */
function fits(enc: Encoding, v: unknown): boolean {
  switch (enc) {
    case 'bool': return typeof v === 'boolean';
    case 'int32': return typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31 && !Object.is(v, -0);
    case 'uint8': case 'uint16': case 'uint32': return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** UINT_BITS[enc] && !Object.is(v, -0);
    case 'float32': return typeof v === 'number' && Object.is(Math.fround(v), v);
    case 'float64': return typeof v === 'number';
    case 'int64': return typeof v === 'bigint' && v >= I64_MIN && v < I64_END;
    case 'uint64': return typeof v === 'bigint' && v >= 0n && v < U64_END;
    case 'bigint': return typeof v === 'bigint';
    case 'utf8': return typeof v === 'string' && isWellFormed(v);
    case 'binary': return isPlainBytes(v);
    case 'date32': return typeof v === 'string' && dateDays(v) !== undefined;
    case 'v8': return true;
    default: {
      const u = TS_UNIT[enc];
      return typeof v === 'string' && timestampUnits(v, u.per, u.digits, u.utc) !== undefined;
    }
  }
}

/** The encodings worth trying for a column, best first (v8 always fits). */
function candidates(type: string, sample: unknown): Encoding[] {
  const out: Encoding[] = [];
  const lt = logicalType(type);
  // an unsigned column in its own width first (numbers; uint64 is bigint, below)
  if (lt.unsigned === 8 || lt.unsigned === 16 || lt.unsigned === 32) out.push(lt.unsigned === 8 ? 'uint8' : lt.unsigned === 16 ? 'uint16' : 'uint32');
  switch (lt.kind) {
    case 'bool': out.push('bool'); break;
    case 'int32': out.push('int32', 'float64'); break;
    case 'int64': out.push('int64', 'bigint'); break;
    case 'uint64': out.push('uint64', 'bigint'); break;
    case 'float32': out.push('float32', 'float64'); break;
    case 'float64': out.push('float64'); break;
    case 'date': out.push('date32', 'utf8'); break;
    case 'timestamp': out.push('timestamp[us]', 'timestamp[ns]', 'utf8'); break;
    case 'timestamptz': out.push('timestamp[us, UTC]', 'timestamp[ns, UTC]', 'utf8'); break;
    case 'bytes': out.push('binary'); break;
    case 'decimal': case 'time': case 'timetz': case 'interval': case 'json': case 'uuid': case 'text': out.push('utf8'); break;
    default: break;
  }
  // what the values are, whatever the column type says
  if (typeof sample === 'number') out.push('float64');
  else if (typeof sample === 'bigint') out.push('int64', 'uint64', 'bigint');
  else if (typeof sample === 'boolean') out.push('bool');
  else if (typeof sample === 'string') out.push('utf8');
  else if (isPlainBytes(sample)) out.push('binary');
  out.push('v8');
  return out;
}

/** For each column, the first candidate every value (null aside) fits; `prev` (encodings already in a file) is
 *  kept where it still fits, so only columns that need it are widened. */
function chooseEncodings(columns: ColumnInfo[], batches: unknown[][][], prev?: Encoding[]): Encoding[] {
  return columns.map((c, i) => {
    let sample: unknown = null;
    for (const rows of batches) {
      for (const r of rows) if (r[i] !== null && r[i] !== undefined) { sample = r[i]; break; }
      if (sample !== null) break;
    }
    const list = prev ? [prev[i], 'v8' as Encoding] : candidates(c.type, sample);
    for (const enc of list) {
      let ok = true;
      for (const rows of batches) {
        for (const r of rows) {
          const v = r[i];
          // a cell past a short row's end is not a value (the row's length is kept in the shape field)
          if (v === null || i >= r.length) continue;
          if (v === undefined ? enc !== 'v8' : !fits(enc, v)) { ok = false; break; }
        }
        if (!ok) break;
      }
      if (ok) return enc;
    }
    return 'v8';
  });
}

function arrowType(A: Arrow, enc: Encoding): import('apache-arrow').DataType {
  switch (enc) {
    case 'bool': return new A.Bool();
    case 'int32': return new A.Int32();
    case 'uint8': return new A.Uint8();
    case 'uint16': return new A.Uint16();
    case 'uint32': return new A.Uint32();
    case 'float32': return new A.Float32();
    case 'float64': return new A.Float64();
    case 'int64': return new A.Int64();
    case 'uint64': return new A.Uint64();
    case 'utf8': case 'bigint': return new A.Utf8();
    case 'binary': case 'v8': return new A.Binary();
    case 'date32': return new A.DateDay();
    case 'timestamp[us]': return new A.TimestampMicrosecond();
    case 'timestamp[ns]': return new A.TimestampNanosecond();
    case 'timestamp[us, UTC]': return new A.TimestampMicrosecond('UTC');
    case 'timestamp[ns, UTC]': return new A.TimestampNanosecond('UTC');
  }
}

function schemaOf(A: Arrow, columns: ColumnInfo[], encs: Encoding[], shape: boolean): import('apache-arrow').Schema {
  const names = new Set<string>();
  const fields = columns.map((c, i) => {
    let name = c.name || `column_${i + 1}`;
    while (names.has(name)) name = `${name}_`;
    names.add(name);
    const meta = new Map([['datatools:encoding', encs[i]], ['datatools:name', c.name], ['datatools:type', c.type]]);
    return new A.Field(name, arrowType(A, encs[i]), true, meta);
  });
  if (shape) fields.push(new A.Field(SHAPE_FIELD, new A.Binary(), true, new Map([['datatools:encoding', 'row_shape']])));
  return new A.Schema(fields, new Map([['datatools:format', 'datatools result store spill (issue 15): one record batch per chunk; '
    + 'a field with datatools:encoding=v8 holds node:v8 serialize() of each value']]));
}

/** One column of rows as Arrow data in an encoding the values fit (checked by chooseEncodings). */
function columnData(A: Arrow, enc: Encoding, rows: unknown[][], i: number): Data {
  const n = rows.length;
  const valid = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  const at = (r: number): unknown => {
    const row = rows[r];
    const v = row[i];
    if (v === null || i >= row.length || (v === undefined && enc !== 'v8')) { nullCount++; return null; }
    valid[r >> 3] |= 1 << (r & 7);
    return v;
  };
  const type = arrowType(A, enc);
  const fixed = <T extends { [k: number]: number | bigint }>(data: T, conv: (v: unknown) => number | bigint) => {
    for (let r = 0; r < n; r++) { const v = at(r); if (v !== null) data[r] = conv(v); }
    return A.makeData({ type, length: n, nullCount, nullBitmap: valid, data } as never) as Data;
  };
  switch (enc) {
    case 'bool': {
      const bits = new Uint8Array((n + 7) >> 3);
      for (let r = 0; r < n; r++) if (at(r) === true) bits[r >> 3] |= 1 << (r & 7);
      return A.makeData({ type, length: n, nullCount, nullBitmap: valid, data: bits } as never) as Data;
    }
    case 'int32': return fixed(new Int32Array(n), v => v as number);
    case 'uint8': return fixed(new Uint8Array(n), v => v as number);
    case 'uint16': return fixed(new Uint16Array(n), v => v as number);
    case 'uint32': return fixed(new Uint32Array(n), v => v as number);
    case 'float32': return fixed(new Float32Array(n), v => v as number);
    case 'float64': return fixed(new Float64Array(n), v => v as number);
    case 'int64': return fixed(new BigInt64Array(n), v => v as bigint);
    case 'uint64': return fixed(new BigUint64Array(n), v => v as bigint);
    // verified by chooseEncodings (fits) already
    case 'date32': return fixed(new Int32Array(n), v => dateDays(v as string, false)!);
    case 'utf8': case 'bigint': {
      // the text of every cell into one buffer (grown as needed), no buffer per cell
      let buf = Buffer.allocUnsafe(1024);
      const offsets = new Int32Array(n + 1);
      let len = 0;
      for (let r = 0; r < n; r++) {
        const v = at(r);
        if (v !== null) {
          const str = enc === 'utf8' ? v as string : String(v);
          const need = len + str.length * 3;
          if (need > 0x7fffffff) throw new Error('a chunk of the result holds more than 2 GB in one column');
          if (need > buf.length) { const b = Buffer.allocUnsafe(Math.min(0x7fffffff, Math.max(need, buf.length * 2))); buf.copy(b, 0, 0, len); buf = b; }
          len += buf.write(str, len, enc === 'utf8' ? 'utf8' : 'latin1');
        }
        offsets[r + 1] = len;
      }
      return A.makeData({ type, length: n, nullCount, nullBitmap: valid, valueOffsets: offsets, data: buf.subarray(0, len) } as never) as Data;
    }
    case 'binary': case 'v8': {
      const parts: Uint8Array[] = [];
      const offsets = new Int32Array(n + 1);
      let len = 0;
      for (let r = 0; r < n; r++) {
        const v = at(r);
        if (v !== null) {
          const b = enc === 'binary' ? v as Uint8Array : v8.serialize(v);
          parts.push(b);
          len += b.byteLength;
          if (len > 0x7fffffff) throw new Error('a chunk of the result holds more than 2 GB in one column');
        }
        offsets[r + 1] = len;
      }
      return A.makeData({ type, length: n, nullCount, nullBitmap: valid, valueOffsets: offsets, data: Buffer.concat(parts, len) } as never) as Data;
    }
    default: {
      const u = TS_UNIT[enc];
      return fixed(new BigInt64Array(n), v => timestampUnits(v as string, u.per, u.digits, u.utc, false)!);
    }
  }
}

/** Rows of one column back from Arrow data, exactly as they were written. */
function readColumn(enc: Encoding | 'row_shape', data: Data, out: unknown[][], i: number): void {
  const n = data.length;
  const valid = (r: number) => data.getValid(r);
  const values = data.values as unknown as ArrayLike<number | bigint>;
  const off = data.offset;
  const o = data.valueOffsets as Int32Array;
  const raw = data.values as Uint8Array;
  const bytesAt = (r: number): Uint8Array => raw.subarray(o[off + r], o[off + r + 1]);
  // one Buffer view of a text column's bytes, sliced per cell without a Buffer per cell
  const text = enc === 'utf8' || enc === 'bigint' ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  for (let r = 0; r < n; r++) {
    if (!valid(r)) { if (enc !== 'row_shape') out[r][i] = null; continue; }
    let v: unknown;
    switch (enc) {
      case 'bool': { const k = off + r; v = (((data.values as Uint8Array)[k >> 3] >> (k & 7)) & 1) === 1; break; }
      case 'int32': case 'uint8': case 'uint16': case 'uint32': case 'float32': case 'float64': case 'int64': case 'uint64': v = values[off + r]; break;
      case 'date32': v = dateString(values[off + r] as number); break;
      case 'utf8': v = text!.toString('utf8', o[off + r], o[off + r + 1]); break;
      case 'bigint': v = BigInt(text!.toString('latin1', o[off + r], o[off + r + 1])); break;
      case 'binary': v = new Uint8Array(bytesAt(r)); break;
      case 'v8': { const b = bytesAt(r); v = v8.deserialize(Buffer.from(b.buffer, b.byteOffset, b.byteLength)); break; }
      case 'row_shape': {
        const b = bytesAt(r);
        const s = v8.deserialize(Buffer.from(b.buffer, b.byteOffset, b.byteLength)) as { length: number; extra: unknown[] };
        out[r].push(...s.extra);
        out[r].length = s.length;
        continue;
      }
      default: { const u = TS_UNIT[enc]; v = timestampString(BigInt(values[off + r]), u.per, u.utc); }
    }
    out[r][i] = v;
  }
}

interface Block { offset: number; metaLength: number; bodyLength: number; first: number; rows: number }
/** What a read needs, replaced as one object when the file is rewritten (a read in flight keeps its own). */
interface State { path: string; schemaMsg: Uint8Array; encodings: Encoding[]; shape: boolean; blocks: Block[]; dataEnd: number; size: number }

const MAGIC = Buffer.from('ARROW1\0\0');

export class SpillFile {
  private state: State | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private discarded = false;
  private version = 0;
  /** The open handle for reads of the current file (one per file, not one per chunk read). */
  private reader: { path: string; fh: Promise<fs.promises.FileHandle> } | undefined;
  /** Closes the read handle after a few idle seconds (many stored results must not hold a descriptor each). */
  private idle: NodeJS.Timeout | undefined;

  /** `pathFor(n)` names the n-th file of this result (a rewrite writes a new file, then removes the old one). */
  constructor(private readonly pathFor: (n: number) => string, private readonly columns: ColumnInfo[]) {}

  /** Bytes on disk now. */
  get size(): number { return this.state?.size ?? 0; }
  get path(): string | undefined { return this.state?.path; }
  /** The chunks written so far: their first row and row count. */
  get chunks(): readonly { first: number; rows: number }[] { return this.state?.blocks ?? []; }
  get encodings(): readonly Encoding[] | undefined { return this.state?.encodings; }

  /** Appends chunks (one record batch each; `first` is the first one's row number), then rewrites the footer so
   *  the file is a whole Arrow IPC file after every append. Appends run one after another. */
  append(batches: unknown[][][], first: number): Promise<void> {
    const run = this.queue.then(() => this.doAppend(batches, first));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Removes the file (after a write in progress). */
  discard(): void {
    this.discarded = true;
    const path = this.state?.path;
    this.queue = this.queue.then(async () => {
      await this.closeReader();
      for (const p of new Set([path, this.state?.path])) if (p) fs.rmSync(p, { force: true });
    });
  }

  /** Closes the read handle (a read in flight finishes first: FileHandle.close waits for it). */
  private async closeReader(): Promise<void> {
    const r = this.reader;
    this.reader = undefined;
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    if (r) await (await r.fh.catch(() => undefined))?.close().catch(() => undefined);
  }

  private handle(path: string): Promise<fs.promises.FileHandle> {
    if (this.reader?.path !== path) {
      void this.closeReader();
      this.reader = { path, fh: fs.promises.open(path, 'r') };
      this.reader.fh.catch(() => undefined);
    }
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => { void this.closeReader(); }, 3000);
    this.idle.unref();
    return this.reader.fh;
  }

  private async doAppend(batches: unknown[][][], first: number): Promise<void> {
    if (this.discarded) return;
    const A = await import('apache-arrow');
    const ncols = this.columns.length;
    const shape = batches.some(rows => rows.some(r => r.length !== ncols));
    let st = this.state;
    if (st) {
      const still = chooseEncodings(this.columns, batches, st.encodings);
      if (still.some((e, i) => e !== st!.encodings[i]) || (shape && !st.shape)) {
        // rewrite what is on disk with encodings that fit every row, then continue with the new rows
        const old: unknown[][][] = [];
        for (let i = 0; i < st.blocks.length; i++) old.push(await this.read(i));
        const widened = chooseEncodings(this.columns, [...old, ...batches]);
        const oldState = st;
        st = await this.writeNew(A, widened, shape || st.shape, old, st.blocks[0]?.first ?? first);
        this.state = st;
        await this.closeReader();
        fs.rmSync(oldState.path, { force: true });
      }
    } else {
      st = await this.writeNew(A, chooseEncodings(this.columns, batches), shape, [], first);
    }
    const next = await this.writeBatches(A, st, batches, first);
    if (this.discarded) { fs.rmSync(next.path, { force: true }); return; }
    this.state = next;
  }

  /** A new file holding the magic, the schema and the given chunks (rows `first`.. of the result). */
  private async writeNew(A: Arrow, encodings: Encoding[], shape: boolean, batches: unknown[][][], first: number): Promise<State> {
    const path = this.pathFor(this.version++);
    const schema = schemaOf(A, this.columns, encodings, shape);
    const stream = A.RecordBatchStreamWriter.writeAll(new A.Table(schema)).toUint8Array(true);
    const metaLen = new DataView(stream.buffer, stream.byteOffset).getInt32(4, true);
    const schemaMsg = stream.slice(0, 8 + metaLen);
    const fh = await fs.promises.open(path, 'w', 0o600);
    try {
      await fh.write(MAGIC, 0, MAGIC.length, 0);
      await fh.write(schemaMsg, 0, schemaMsg.length, MAGIC.length);
    } finally { await fh.close(); }
    const st: State = { path, schemaMsg, encodings, shape, blocks: [], dataEnd: MAGIC.length + schemaMsg.length, size: MAGIC.length + schemaMsg.length };
    return batches.length ? this.writeBatches(A, st, batches, first) : st;
  }

  /** Writes record batches at the end of the data and the footer after them; returns the new state. */
  private async writeBatches(A: Arrow, st: State, batches: unknown[][][], first: number): Promise<State> {
    const { Footer, FileBlock } = await import('apache-arrow/ipc/metadata/file');
    const schema = schemaOf(A, this.columns, st.encodings, st.shape);
    const blocks = [...st.blocks];
    let pos = st.dataEnd;
    let row = first;
    let tailLength = 0;
    const fh = await fs.promises.open(st.path, 'r+');
    try {
      for (const rows of batches) {
        const children = st.encodings.map((enc, i) => columnData(A, enc, rows, i));
        if (st.shape) {
          const ncols = this.columns.length;
          const shapes = rows.map(r => [r.length === ncols ? null : { length: r.length, extra: r.slice(ncols) }]);
          children.push(columnData(A, 'v8', shapes, 0));
        }
        const data = A.makeData({ type: new A.Struct(schema.fields), length: rows.length, nullCount: 0, children } as never);
        const bytes = A.RecordBatchStreamWriter.writeAll([new A.RecordBatch(schema, data as never)]).toUint8Array(true);
        // the stream is: schema message, this batch's message (metadata and body), end-of-stream marker
        const msg = bytes.subarray(st.schemaMsg.length, bytes.length - 8);
        const metaLength = 8 + new DataView(msg.buffer, msg.byteOffset).getInt32(4, true);
        await fh.write(msg, 0, msg.length, pos);
        blocks.push({ offset: pos, metaLength, bodyLength: msg.length - metaLength, first: row, rows: rows.length });
        pos += msg.length;
        row += rows.length;
      }
      const footer = Footer.encode(new Footer(schema, A.MetadataVersion.V5, blocks.map(b => new FileBlock(b.metaLength, b.bodyLength, b.offset)), []));
      const tail = Buffer.concat([Buffer.from(Int32Array.of(-1, 0).buffer), footer, Buffer.from(Int32Array.of(footer.length).buffer), Buffer.from('ARROW1')]);
      await fh.write(tail, 0, tail.length, pos);
      await fh.truncate(pos + tail.length);
      tailLength = tail.length;
    } finally { await fh.close(); }
    return { ...st, blocks, dataEnd: pos, size: pos + tailLength };
  }

  /** The rows of chunk `i`, reading only its bytes. */
  async read(i: number): Promise<unknown[][]> {
    for (let attempt = 0; ; attempt++) {
      const st = this.state!;
      const b = st.blocks[i];
      const buf = Buffer.allocUnsafe(st.schemaMsg.length + b.metaLength + b.bodyLength);
      buf.set(st.schemaMsg, 0);
      try {
        const fh = await this.handle(st.path);
        await fh.read(buf, st.schemaMsg.length, b.metaLength + b.bodyLength, b.offset);
      } catch (e) {
        // rewritten meanwhile (the old file is gone or its handle closed): read the same chunk from the new file
        if (this.state !== st && attempt < 3) continue;
        throw e;
      }
      return decodeBatch(await import('apache-arrow'), buf, st, this.columns.length);
    }
  }
}

function decodeBatch(A: Arrow, buf: Uint8Array, st: State, ncols: number): unknown[][] {
  const batch = A.tableFromIPC(buf).batches[0];
  const n = batch?.numRows ?? 0;
  const out: unknown[][] = Array.from({ length: n }, () => new Array(ncols));
  st.encodings.forEach((enc, i) => readColumn(enc, batch.data.children[i], out, i));
  if (st.shape) readColumn('row_shape', batch.data.children[ncols], out, ncols);
  return out;
}
