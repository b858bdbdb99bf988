// Arrow IPC (the file format, Feather v2, and the stream format) read by our own decoder: the footer and each
// record batch by range (the stream form sequentially), values in the shared value model. Handles both byte
// orders, LZ4-frame and ZSTD bodies, dictionaries (nested, delta), views, run-end encoding, unions. The metadata
// reader is arrowMeta.ts, the column decoding arrowColumns.ts.
import type { ColumnInfo } from '../result';
import { RowBudget, type BudgetStop } from '../bounds';
import type { Limits } from '../config';
import { DistinctRanges, type RangedSource } from './parquet';
import { ArrowFileError, parseFooter, parseMessage, typeName, type ArrowField, type ArrowSchema, type MessageMeta, type RecordBatchMeta } from './arrowMeta';
import { decodeColumn, type BatchCtx, type Column, type Decompress } from './arrowColumns';

export { ArrowFileError } from './arrowMeta';

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

const MAGIC = 'ARROW1';

/** One message read at `pos`: its metadata, where its body starts, and where the next message starts. */
interface Msg { meta: MessageMeta; bodyStart: number; next: number }

/** Reads the first rows of an Arrow IPC file (Feather v2) or stream through ranged reads: the footer, then
 *  record batches one by one until it has enough rows. */
export async function readArrowHead(src: RangedSource, o: { nRows: number; columns?: string[]; budget?: Pick<Limits, 'maxRowMb' | 'maxResultMb'> }): Promise<ArrowHead> {
  try {
    return await readHead(src, o);
  } catch (e) {
    // our own refusals and the caller's unknown columns are sentences already; anything else is a bug of ours met
    // on a malformed file: never hand the model JavaScript's text
    if (e instanceof ArrowFileError || (e instanceof Error && /^unknown column/.test(e.message))) throw e;
    if (e instanceof Error && /memory|allocation/i.test(e.message)) throw new ArrowFileError('the file asks for more memory than it can hold: its metadata is corrupt');
    throw new ArrowFileError('the file does not decode as Arrow IPC: it is corrupt or uses a layout this reader does not know', { cause: e });
  }
}

async function readHead(src: RangedSource, o: { nRows: number; columns?: string[]; budget?: Pick<Limits, 'maxRowMb' | 'maxResultMb'> }): Promise<ArrowHead> {
  const budget = o.budget ? new RowBudget(o.budget) : undefined;
  let stopped: BudgetStop | undefined;
  const ranges = new DistinctRanges();
  const size = src.byteLength;
  const read = async (s: number, e: number): Promise<Uint8Array> => {
    if (s < 0 || e > size || s > e) throw new ArrowFileError(`a read of bytes ${s}-${e} falls outside the file (${size} bytes): the file is truncated or its metadata is corrupt`);
    ranges.add(s, e);
    return s === e ? new Uint8Array(0) : new Uint8Array(await src.read(s, e));
  };
  const text = (b: Uint8Array) => String.fromCharCode(...b);

  const readMessage = async (pos: number, limit = size): Promise<Msg | undefined> => {
    if (pos + 4 > limit) return undefined; // a stream may end without the end-of-stream marker
    const head = await read(pos, Math.min(pos + 8, limit));
    const hv = new DataView(head.buffer, head.byteOffset, head.byteLength);
    let len = hv.getInt32(0, true);
    let metaStart = pos + 4;
    if (len === -1) { // continuation marker (format 0.15+); before it, the length came first
      if (head.byteLength < 8) return undefined;
      len = hv.getInt32(4, true);
      metaStart = pos + 8;
    }
    if (len === 0) return undefined; // end of stream
    if (len < 0 || metaStart + len > limit) throw new ArrowFileError(`an Arrow message at byte ${pos} claims ${len} bytes of metadata, past the end of the file: the file is truncated or not Arrow IPC`);
    const meta = parseMessage(await read(metaStart, metaStart + len));
    const bodyStart = metaStart + len;
    if (meta.bodyLength < 0 || bodyStart + meta.bodyLength > size) throw new ArrowFileError(`an Arrow message at byte ${pos} claims a body of ${meta.bodyLength} bytes, past the end of the file: the file is truncated`);
    return { meta, bodyStart, next: bodyStart + meta.bodyLength };
  };

  // the file format: magic, padding, the stream, the footer, its length, magic
  let isFile = false;
  let schema: ArrowSchema | undefined;
  let blocks: { offset: number }[] = [];
  let dictBlocks: { offset: number }[] = [];
  const first = size >= 6 ? text(await read(0, 6)) : '';
  if (first === MAGIC && size >= 22 && text(await read(size - 6, size)) === MAGIC) {
    const tail = await read(size - 10, size - 6);
    const flen = new DataView(tail.buffer, tail.byteOffset, 4).getInt32(0, true);
    if (flen <= 0 || flen > size - 18) throw new ArrowFileError(`the Arrow file footer claims ${flen} bytes, more than the file holds: the file is truncated or corrupt`);
    const footer = parseFooter(await read(size - 10 - flen, size - 10));
    schema = footer.schema;
    blocks = footer.recordBatches;
    dictBlocks = footer.dictionaries;
    isFile = true;
  }

  let pos = first === MAGIC ? 8 : 0;
  if (!isFile) {
    const m = await readMessage(pos);
    if (!m || m.meta.type !== 'schema') throw new ArrowFileError('not an Arrow IPC file or stream (no schema found)');
    schema = m.meta.schema;
    pos = m.next;
  }
  const sch = schema!;
  const fields = sch.fields;
  const all = fields.map(f => ({ name: f.name, type: typeName(f) }));
  let idx = all.map((_, i) => i);
  if (o.columns) {
    const missing = o.columns.filter(c => !all.some(a => a.name === c));
    if (missing.length) throw new Error(`unknown column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the file has ${all.map(a => a.name).join(', ')}`);
    idx = o.columns.map(c => all.findIndex(a => a.name === c));
  }
  checkTypes(fields);

  const dictFields = new Map<number, ArrowField>();
  const walk = (f: ArrowField) => { if (f.dictionary) dictFields.set(f.dictionary.id, f); f.children.forEach(walk); };
  fields.forEach(walk);
  const dictionaries = new Map<number, Column>();
  let decompress: Decompress | undefined;
  /** The context to decode a batch with, its body read in [from, to) (the whole body unless told). */
  const ctxOf = async (batch: RecordBatchMeta, bodyStart: number, bodyLength: number, from = 0, to = bodyLength): Promise<BatchCtx> => {
    if (batch.codec !== undefined && !decompress) decompress = await decompressor();
    if (batch.codec !== undefined && batch.codec !== 0 && batch.codec !== 1) throw new ArrowFileError(`the record batch is compressed with codec ${batch.codec}, which Arrow does not define (LZ4 frame or ZSTD)`);
    const body = to > from ? await read(bodyStart + from, bodyStart + to) : new Uint8Array(0);
    return { meta: batch, body, bodyOffset: from, bodyLength, le: !sch.bigEndian, version: sch.version, dictionaries, decompress, node: 0, buffer: 0, variadic: 0 };
  };
  /** The part of a batch's body that the selected columns' buffers span (decoding only builds accessors, so a
   *  first pass over an unread body finds which buffers each column takes). */
  const span = (batch: RecordBatchMeta, bodyLength: number): [number, number] => {
    const dry: BatchCtx = { meta: batch, body: new Uint8Array(0), bodyOffset: 0, bodyLength, le: true, version: sch.version, dictionaries, node: 0, buffer: 0, variadic: 0 };
    let from = bodyLength; let to = 0;
    const wanted = new Set(idx);
    fields.forEach((f, i) => {
      const first = dry.buffer;
      decodeColumn(f, dry);
      if (!wanted.has(i)) return;
      for (const ref of batch.buffers.slice(first, dry.buffer)) if (ref.length > 0) { from = Math.min(from, ref.offset); to = Math.max(to, ref.offset + ref.length); }
    });
    return to > from ? [Math.max(0, from), Math.min(bodyLength, to)] : [0, 0];
  };
  const addDictionary = async (m: Msg) => {
    if (m.meta.type !== 'dictionary') return;
    const f = dictFields.get(m.meta.id);
    if (!f) throw new ArrowFileError(`the file holds dictionary ${m.meta.id}, which no column uses: the file is corrupt`);
    const ctx = await ctxOf(m.meta.batch, m.bodyStart, m.meta.bodyLength);
    const col = decodeColumn({ ...f, dictionary: undefined }, ctx);
    const old = dictionaries.get(m.meta.id);
    dictionaries.set(m.meta.id, m.meta.isDelta && old ? concat(old, col) : col);
  };

  const rows: unknown[][] = [];
  const batches = isFile ? blocks.length : undefined;
  let seen = 0;
  let batchNo = 0;
  let more = false;
  let finished = true;
  const take = async (m: Msg): Promise<boolean> => {
    if (m.meta.type !== 'recordbatch') return false;
    batchNo++;
    const b = m.meta.batch;
    const [from, to] = span(b, m.meta.bodyLength);
    const ctx = await ctxOf(b, m.bodyStart, m.meta.bodyLength, from, to);
    const cols = fields.map(f => decodeColumn(f, ctx));
    cols.forEach((c, i) => { if (c.length < b.length) throw new ArrowFileError(`column ${JSON.stringify(fields[i].name)} has ${c.length} values in a record batch of ${b.length} rows: the file is corrupt`); });
    seen += b.length;
    for (let r = 0; r < b.length && rows.length < o.nRows; r++) {
      const row = idx.map(i => cols[i].get(r));
      if (budget && (stopped = budget.add(row))) break;
      rows.push(row);
    }
    if (stopped) { finished = false; more = true; return true; }
    if (rows.length >= o.nRows) {
      finished = false;
      // more rows exist if this batch had more, or (file format) batches remain; a stream cannot tell, so say more
      more = seen > rows.length || (batches !== undefined ? batchNo < batches : true);
      return true;
    }
    return false;
  };

  if (isFile) {
    for (const d of dictBlocks) {
      const m = await readMessage(d.offset);
      if (!m || m.meta.type !== 'dictionary') throw new ArrowFileError(`the Arrow file footer points at a dictionary batch at byte ${d.offset} that is not one: the file is corrupt`);
      await addDictionary(m);
    }
    for (const bl of blocks) {
      const m = await readMessage(bl.offset);
      if (!m || m.meta.type !== 'recordbatch') throw new ArrowFileError(`the Arrow file footer points at a record batch at byte ${bl.offset} that is not one: the file is corrupt`);
      if (await take(m)) break;
    }
  } else {
    for (;;) {
      const m = await readMessage(pos);
      if (!m) break;
      pos = m.next;
      if (m.meta.type === 'dictionary') await addDictionary(m);
      else if (m.meta.type === 'recordbatch') { if (await take(m)) break; }
      else if (m.meta.type === 'schema') throw new ArrowFileError('the Arrow stream holds a second schema: it is corrupt');
    }
  }
  return { columns: idx.map(i => all[i]), rows, totalRows: finished || !more ? seen : undefined, batches, more, bytesRead: ranges.total, format: isFile ? 'file' : 'stream', ...(stopped ? { stopped } : {}) };
}

/** Refuses, by column and type name, any type the decoder does not know, before any value is read. */
function checkTypes(fields: ArrowField[], top?: string): void {
  for (const f of fields) {
    const col = top ?? f.name;
    if (f.type.kind === 'unknown') throw new ArrowFileError(`column ${JSON.stringify(col)} has an Arrow type this reader does not know (type code ${f.type.code})`);
    if (f.type.kind === 'decimal' && !(f.type.precision >= 1 && f.type.precision <= 76 && Math.abs(f.type.scale) <= 76)) throw new ArrowFileError(`column ${JSON.stringify(col)} is a decimal of precision ${f.type.precision} and scale ${f.type.scale}, which Arrow does not allow: the file is corrupt`);
    checkTypes(f.children, col);
  }
}

function concat(a: Column, b: Column): Column {
  return { length: a.length + b.length, get: i => (i < a.length ? a.get(i) : b.get(i - a.length)) };
}

async function decompressor(): Promise<Decompress> {
  const { decompressZstd } = await import('hyparquet-compressors');
  return (codec, input, n) => {
    let out: Uint8Array;
    try {
      out = codec === 0 ? lz4Frame(input, n) : decompressZstd(input, new Uint8Array(n));
    } catch (e) {
      if (e instanceof ArrowFileError) throw e;
      throw new ArrowFileError(`a ${codec === 0 ? 'LZ4' : 'ZSTD'}-compressed buffer does not decompress: the file is corrupt`);
    }
    if (out.byteLength !== n) throw new ArrowFileError(`a ${codec === 0 ? 'LZ4' : 'ZSTD'}-compressed buffer decompresses to ${out.byteLength} bytes, not the ${n} its prefix says: the file is corrupt`);
    return out;
  };
}

/** The LZ4 frame format (one or more frames, as Arrow writes with LZ4F) into exactly `n` bytes. */
function lz4Frame(src: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  const bad = (why: string) => new ArrowFileError(`an LZ4-compressed buffer is corrupt (${why})`);
  const u32 = (i: number) => { if (i + 4 > src.length) throw bad('it ends early'); return (src[i] | src[i + 1] << 8 | src[i + 2] << 16 | src[i + 3] << 24) >>> 0; };
  let i = 0; let o = 0;
  while (i < src.length) {
    const magic = u32(i); i += 4;
    if ((magic & 0xfffffff0) === 0x184d2a50) { i += 4 + u32(i); continue; } // a skippable frame
    if (magic !== 0x184d2204) throw bad('no LZ4 frame magic');
    const flg = src[i]; i += 2; // FLG, BD
    if ((flg >> 6) !== 1) throw bad(`frame version ${flg >> 6}`);
    if (flg & 0x08) i += 8; // content size
    if (flg & 0x01) throw bad('it needs a preset dictionary');
    i += 1; // header checksum
    for (;;) {
      const word = u32(i); i += 4;
      if (word === 0) break;
      const len = word & 0x7fffffff;
      if (i + len > src.length) throw bad('a block runs past its end');
      if (word & 0x80000000) {
        if (o + len > n) throw bad('it holds more bytes than its prefix says');
        out.set(src.subarray(i, i + len), o); o += len;
      } else o = lz4Block(src, i, i + len, out, o, bad);
      i += len;
      if (flg & 0x10) i += 4; // block checksum
    }
    if (flg & 0x04) i += 4; // content checksum
  }
  return o === n ? out : out.subarray(0, o);
}

/** One LZ4 block src[s, e) decoded into out at o (earlier output is the history for matches); the new end. */
function lz4Block(src: Uint8Array, s: number, e: number, out: Uint8Array, o: number, bad: (why: string) => Error): number {
  let i = s;
  while (i < e) {
    const token = src[i++];
    let lit = token >> 4;
    if (lit === 15) { let b; do { b = src[i++]; lit += b; } while (b === 255 && i < e); }
    if (i + lit > e || o + lit > out.length) throw bad('a literal run is too long');
    out.set(src.subarray(i, i + lit), o); o += lit; i += lit;
    if (i >= e) break; // the last sequence has literals only
    const off = src[i] | src[i + 1] << 8; i += 2;
    let mlen = token & 15;
    if (mlen === 15) { let b; do { b = src[i++]; mlen += b; } while (b === 255 && i < e); }
    mlen += 4;
    if (off === 0 || off > o) throw bad('a match points before the start');
    if (o + mlen > out.length) throw bad('it holds more bytes than its prefix says');
    for (let k = 0; k < mlen; k++, o++) out[o] = out[o - off];
  }
  return o;
}
