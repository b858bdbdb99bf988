// Arrow IPC metadata: a small flatbuffer reader for the Schema, Message and Footer tables of Arrow's
// Schema.fbs / Message.fbs / File.fbs (format version 1.0+, and the pre-0.15 stream framing). Flatbuffers are
// little-endian whatever the data's endianness. Only the fields the reader uses are decoded.

/** An error about the file itself (corrupt, unsupported), worded for the model. */
export class ArrowFileError extends Error {}

/** A flatbuffer table: field i is read through the vtable; absent fields give the default. */
class Table {
  private vt: number;
  private vtLen: number;
  constructor(private dv: DataView, readonly pos: number) {
    if (pos < 0 || pos + 4 > dv.byteLength) throw corrupt();
    this.vt = pos - dv.getInt32(pos, true);
    if (this.vt < 0 || this.vt + 4 > dv.byteLength) throw corrupt();
    this.vtLen = dv.getUint16(this.vt, true);
  }
  private at(i: number): number {
    const o = 4 + 2 * i;
    if (o + 2 > this.vtLen) return 0;
    const off = this.dv.getUint16(this.vt + o, true);
    if (off && this.pos + off > this.dv.byteLength) throw corrupt();
    return off ? this.pos + off : 0;
  }
  has(i: number): boolean { return this.at(i) !== 0; }
  u8(i: number, d = 0): number { const p = this.at(i); return p ? this.dv.getUint8(p) : d; }
  bool(i: number, d = false): boolean { const p = this.at(i); return p ? this.dv.getUint8(p) !== 0 : d; }
  i16(i: number, d = 0): number { const p = this.at(i); return p ? this.dv.getInt16(p, true) : d; }
  i32(i: number, d = 0): number { const p = this.at(i); return p ? this.dv.getInt32(p, true) : d; }
  i64(i: number, d = 0): number { const p = this.at(i); return p ? num64(this.dv.getBigInt64(p, true)) : d; }
  private ref(i: number): number {
    const p = this.at(i);
    if (!p) return 0;
    const q = p + this.dv.getUint32(p, true);
    if (q + 4 > this.dv.byteLength) throw corrupt();
    return q;
  }
  table(i: number): Table | undefined { const q = this.ref(i); return q ? new Table(this.dv, q) : undefined; }
  str(i: number): string | undefined {
    const q = this.ref(i);
    if (!q) return undefined;
    const n = this.dv.getUint32(q, true);
    if (q + 4 + n > this.dv.byteLength) throw corrupt();
    return new TextDecoder().decode(new Uint8Array(this.dv.buffer, this.dv.byteOffset + q + 4, n));
  }
  /** A vector: its element count and the position of element 0. */
  vec(i: number, elemBytes: number): { n: number; at: number } {
    const q = this.ref(i);
    if (!q) return { n: 0, at: 0 };
    const n = this.dv.getUint32(q, true);
    if (q + 4 + n * elemBytes > this.dv.byteLength) throw corrupt();
    return { n, at: q + 4 };
  }
  tables(i: number): Table[] {
    const { n, at } = this.vec(i, 4);
    return Array.from({ length: n }, (_, k) => new Table(this.dv, at + 4 * k + this.dv.getUint32(at + 4 * k, true)));
  }
  get view(): DataView { return this.dv; }
}

function corrupt(): ArrowFileError { return new ArrowFileError('the Arrow metadata is corrupt (a flatbuffer offset points outside it)'); }

function num64(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new ArrowFileError(`the Arrow metadata holds a size of ${v}, too large to be real: the file is corrupt`);
  return Number(v);
}

/** The Arrow logical types (Schema.fbs `union Type`). */
export type ArrowType =
  | { kind: 'null' }
  | { kind: 'int'; bitWidth: number; signed: boolean }
  | { kind: 'float'; precision: 0 | 1 | 2 }
  | { kind: 'binary' | 'utf8' | 'largebinary' | 'largeutf8' | 'binaryview' | 'utf8view' | 'bool' | 'struct' }
  | { kind: 'decimal'; precision: number; scale: number; bitWidth: number }
  | { kind: 'date'; unit: number }
  | { kind: 'time'; unit: number; bitWidth: number }
  | { kind: 'timestamp'; unit: number; timezone?: string }
  | { kind: 'duration'; unit: number }
  | { kind: 'interval'; unit: number }
  | { kind: 'list' | 'largelist' | 'listview' | 'largelistview' | 'runendencoded' }
  | { kind: 'fixedsizelist'; size: number }
  | { kind: 'fixedsizebinary'; byteWidth: number }
  | { kind: 'map'; keysSorted: boolean }
  | { kind: 'union'; dense: boolean; typeIds?: number[] }
  | { kind: 'unknown'; code: number };

export interface ArrowField {
  name: string;
  nullable: boolean;
  type: ArrowType;
  children: ArrowField[];
  /** Set when the field is dictionary-encoded: `type` is the dictionary's value type, the column holds indices. */
  dictionary?: { id: number; indexType: { bitWidth: number; signed: boolean } };
  extension?: string;
}

export interface ArrowSchema { bigEndian: boolean; fields: ArrowField[]; version: number }

const SIMPLE: Record<number, ArrowType['kind']> = { 1: 'null', 4: 'binary', 5: 'utf8', 6: 'bool', 13: 'struct', 12: 'list', 19: 'largebinary', 20: 'largeutf8', 21: 'largelist', 22: 'runendencoded', 23: 'binaryview', 24: 'utf8view', 25: 'listview', 26: 'largelistview' };

function typeOf(code: number, t: Table | undefined): ArrowType {
  const T = t ?? undefined;
  const g = <K>(f: (x: Table) => K, d: K): K => (T ? f(T) : d);
  switch (code) {
    case 2: return { kind: 'int', bitWidth: g(x => x.i32(0), 0), signed: g(x => x.bool(1), false) };
    case 3: return { kind: 'float', precision: g(x => x.i16(0), 0) as 0 | 1 | 2 };
    case 7: return { kind: 'decimal', precision: g(x => x.i32(0), 0), scale: g(x => x.i32(1), 0), bitWidth: g(x => x.i32(2, 128), 128) };
    case 8: return { kind: 'date', unit: g(x => x.i16(0, 1), 1) };
    case 9: return { kind: 'time', unit: g(x => x.i16(0, 1), 1), bitWidth: g(x => x.i32(1, 32), 32) };
    case 10: return { kind: 'timestamp', unit: g(x => x.i16(0), 0), timezone: g(x => x.str(1), undefined) };
    case 11: return { kind: 'interval', unit: g(x => x.i16(0), 0) };
    case 14: {
      const ids = T?.vec(1, 4);
      return { kind: 'union', dense: g(x => x.i16(0), 0) === 1, typeIds: ids && ids.n ? Array.from({ length: ids.n }, (_, k) => T!.view.getInt32(ids.at + 4 * k, true)) : undefined };
    }
    case 15: return { kind: 'fixedsizebinary', byteWidth: g(x => x.i32(0), 0) };
    case 16: return { kind: 'fixedsizelist', size: g(x => x.i32(0), 0) };
    case 17: return { kind: 'map', keysSorted: g(x => x.bool(0), false) };
    case 18: return { kind: 'duration', unit: g(x => x.i16(0, 1), 1) };
    default: return SIMPLE[code] ? { kind: SIMPLE[code] } as ArrowType : { kind: 'unknown', code };
  }
}

function fieldOf(t: Table, depth = 0): ArrowField {
  if (depth > 64) throw new ArrowFileError('the Arrow schema nests deeper than 64 levels');
  const f: ArrowField = { name: t.str(0) ?? '', nullable: t.bool(1), type: typeOf(t.u8(2), t.table(3)), children: t.tables(5).map(c => fieldOf(c, depth + 1)) };
  const d = t.table(4);
  if (d) {
    const it = d.table(1);
    f.dictionary = { id: d.i64(0), indexType: { bitWidth: it ? it.i32(0) : 32, signed: it ? it.bool(1) : true } };
  }
  for (const kv of t.tables(6)) if (kv.str(0) === 'ARROW:extension:name') f.extension = kv.str(1);
  return f;
}

function schemaOf(t: Table, version: number): ArrowSchema {
  return { bigEndian: t.i16(0) === 1, fields: t.tables(1).map(f => fieldOf(f)), version };
}

export interface BufferRef { offset: number; length: number }
export interface RecordBatchMeta {
  length: number;
  nodes: { length: number; nullCount: number }[];
  buffers: BufferRef[];
  /** 0 LZ4 frame, 1 ZSTD; undefined when the body is not compressed. */
  codec?: number;
  variadic: number[];
}

export type MessageMeta =
  | { type: 'schema'; schema: ArrowSchema; bodyLength: number }
  | { type: 'dictionary'; id: number; isDelta: boolean; batch: RecordBatchMeta; bodyLength: number }
  | { type: 'recordbatch'; batch: RecordBatchMeta; bodyLength: number }
  | { type: 'other'; code: number; bodyLength: number };

function root(buf: Uint8Array): Table {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < 8) throw corrupt();
  return new Table(dv, dv.getUint32(0, true));
}

function batchOf(t: Table): RecordBatchMeta {
  const dv = t.view;
  const nodes = t.vec(1, 16);
  const bufs = t.vec(2, 16);
  const comp = t.table(3);
  const vari = t.vec(4, 8);
  return {
    length: t.i64(0),
    nodes: Array.from({ length: nodes.n }, (_, k) => ({ length: num64(dv.getBigInt64(nodes.at + 16 * k, true)), nullCount: num64(dv.getBigInt64(nodes.at + 16 * k + 8, true)) })),
    buffers: Array.from({ length: bufs.n }, (_, k) => ({ offset: num64(dv.getBigInt64(bufs.at + 16 * k, true)), length: num64(dv.getBigInt64(bufs.at + 16 * k + 8, true)) })),
    codec: comp ? comp.u8(0) : undefined,
    variadic: Array.from({ length: vari.n }, (_, k) => num64(dv.getBigInt64(vari.at + 8 * k, true))),
  };
}

/** A Message flatbuffer (Message.fbs). */
export function parseMessage(buf: Uint8Array): MessageMeta {
  const m = root(buf);
  const version = m.i16(0);
  const kind = m.u8(1);
  const h = m.table(2);
  const bodyLength = m.i64(3);
  if (kind === 1 && h) return { type: 'schema', schema: schemaOf(h, version), bodyLength };
  if (kind === 2 && h) {
    const data = h.table(1);
    if (!data) throw new ArrowFileError('an Arrow dictionary batch has no data');
    return { type: 'dictionary', id: h.i64(0), isDelta: h.bool(2), batch: batchOf(data), bodyLength };
  }
  if (kind === 3 && h) return { type: 'recordbatch', batch: batchOf(h), bodyLength };
  return { type: 'other', code: kind, bodyLength };
}

export interface Block { offset: number; metaDataLength: number; bodyLength: number }
export interface FooterMeta { schema: ArrowSchema; dictionaries: Block[]; recordBatches: Block[] }

/** The Footer flatbuffer of the file format (File.fbs). */
export function parseFooter(buf: Uint8Array): FooterMeta {
  const f = root(buf);
  const s = f.table(1);
  if (!s) throw new ArrowFileError('the Arrow file footer has no schema');
  const blocks = (i: number): Block[] => {
    const { n, at } = f.vec(i, 24);
    const dv = f.view;
    return Array.from({ length: n }, (_, k) => ({ offset: num64(dv.getBigInt64(at + 24 * k, true)), metaDataLength: dv.getInt32(at + 24 * k + 8, true), bodyLength: num64(dv.getBigInt64(at + 24 * k + 16, true)) }));
  };
  return { schema: schemaOf(s, f.i16(0)), dictionaries: blocks(2), recordBatches: blocks(3) };
}

const UNIT = ['s', 'ms', 'us', 'ns'];

/** The logical type name, as read_parquet names Parquet's (int64, decimal(p,s), timestamp[us, UTC], list<int32>).
 *  Dictionary and run-end encodings are physical: the column is named by its values' type. Fields of a struct
 *  that share a name are told apart by `structKeys` ("a", "a#2"). */
export function typeName(f: ArrowField): string {
  const t = f.type;
  const c = f.children;
  switch (t.kind) {
    case 'null': return 'null';
    case 'int': return `${t.signed ? 'int' : 'uint'}${t.bitWidth}`;
    case 'float': return ['float16', 'float32', 'float64'][t.precision] ?? 'float';
    case 'utf8': case 'largeutf8': case 'utf8view': return 'string';
    case 'binary': case 'largebinary': case 'binaryview': return 'binary';
    case 'bool': return 'boolean';
    case 'fixedsizebinary': return `fixed_size_binary[${t.byteWidth}]`;
    case 'decimal': return `decimal(${t.precision},${t.scale})`;
    case 'date': return 'date';
    case 'time': return `time[${UNIT[t.unit] ?? t.unit}]`;
    case 'timestamp': return `timestamp[${UNIT[t.unit] ?? t.unit}${t.timezone ? ', UTC' : ''}]`;
    case 'duration': return `duration[${UNIT[t.unit] ?? t.unit}]`;
    case 'interval': return `interval[${['year_month', 'day_time', 'month_day_nano'][t.unit] ?? t.unit}]`;
    case 'list': case 'fixedsizelist': case 'listview': return `list<${c[0] ? typeName(c[0]) : '?'}>`;
    case 'largelist': case 'largelistview': return `large_list<${c[0] ? typeName(c[0]) : '?'}>`;
    case 'struct': { const keys = structKeys(c); return `struct<${c.map((x, i) => `${keys[i]}: ${typeName(x)}`).join(', ')}>`; }
    case 'map': { const kv = c[0]?.children ?? []; return `map<${kv[0] ? typeName(kv[0]) : '?'}, ${kv[1] ? typeName(kv[1]) : '?'}>`; }
    case 'union': return `${t.dense ? 'dense' : 'sparse'}_union<${c.map(x => `${x.name}: ${typeName(x)}`).join(', ')}>`;
    case 'runendencoded': return c[1] ? typeName(c[1]) : '?';
    case 'unknown': return `unknown type ${t.code}`;
  }
}

/** The keys a struct's value object uses: the field names, the second and later fields of a name that is already
 *  taken getting "#2", "#3"… (Arrow allows duplicate names; a JS object does not). */
export function structKeys(children: ArrowField[]): string[] {
  const used = new Set<string>();
  return children.map(c => {
    let k = c.name;
    for (let n = 2; used.has(k); n++) k = `${c.name}#${n}`;
    used.add(k);
    return k;
  });
}
