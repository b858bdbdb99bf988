// Arrow IPC column decoding: a record batch's body buffers → one accessor per column that gives row i in the
// shared value model (see values.ts). Values are read through DataView in the file's own endianness, so big-endian
// files come out right; buffers are decompressed (LZ4 frame, ZSTD) only when a column is first read.
import { ArrowFileError, structKeys, typeName, type ArrowField, type RecordBatchMeta } from './arrowMeta';
import { dateString, decimalString, halfFloat, timestampString } from './parquet';

/** A decoded column: its length, whether row i is null, and row i's value (null when null). */
export interface Column { length: number; get(i: number): unknown }

interface StructColumn extends Column { fields: Column[] }

export type Decompress = (codec: number, input: Uint8Array, outLength: number) => Uint8Array;

/** Where the next field node, buffer and variadic count come from while the fields are walked in order. */
export interface BatchCtx {
  meta: RecordBatchMeta;
  /** The body bytes read, from `bodyOffset` on (a record batch's body is read only as far as its columns need). */
  body: Uint8Array;
  bodyOffset: number;
  /** The body's whole length, as the message says. */
  bodyLength: number;
  le: boolean;
  /** Metadata version (V4 = 3, V5 = 4): before V5 a union has a validity buffer. */
  version: number;
  dictionaries: Map<number, Column>;
  decompress?: Decompress;
  node: number;
  buffer: number;
  variadic: number;
}

const PER = [1n, 1000n, 1_000_000n, 1_000_000_000n];

function nextNode(ctx: BatchCtx, f: ArrowField) {
  const n = ctx.meta.nodes[ctx.node++];
  if (!n) throw new ArrowFileError(`the record batch has fewer field nodes than the schema has fields (at column ${JSON.stringify(f.name)}): the file is corrupt`);
  return n;
}

/** Buffer k of the body, fetched (and decompressed) on first use. */
function nextBuffer(ctx: BatchCtx, f: ArrowField): () => Uint8Array {
  const ref = ctx.meta.buffers[ctx.buffer++];
  if (!ref) throw new ArrowFileError(`the record batch has fewer buffers than its schema needs (at column ${JSON.stringify(f.name)}): the file is corrupt`);
  let out: Uint8Array | undefined;
  const { body, bodyOffset, bodyLength, decompress } = ctx;
  const codec = ctx.meta.codec;
  return () => {
    if (out) return out;
    if (ref.offset < 0 || ref.length < 0 || ref.offset + ref.length > bodyLength) throw new ArrowFileError(`a buffer of column ${JSON.stringify(f.name)} lies outside the record batch body: the file is corrupt`);
    if (ref.length && (ref.offset < bodyOffset || ref.offset + ref.length > bodyOffset + body.byteLength)) throw new ArrowFileError(`a buffer of column ${JSON.stringify(f.name)} was not read`);
    const raw = ref.length ? body.subarray(ref.offset - bodyOffset, ref.offset - bodyOffset + ref.length) : new Uint8Array(0);
    if (codec === undefined || raw.byteLength === 0) return (out = raw);
    if (raw.byteLength < 8) throw new ArrowFileError(`a compressed buffer of column ${JSON.stringify(f.name)} is shorter than its length prefix: the file is corrupt`);
    const n = new DataView(raw.buffer, raw.byteOffset, 8).getBigInt64(0, true);
    if (n === -1n) return (out = raw.subarray(8));
    if (n < 0n || n > 1n << 30n) throw new ArrowFileError(`a compressed buffer of column ${JSON.stringify(f.name)} claims ${n} bytes: the file is corrupt`);
    return (out = decompress!(codec, raw.subarray(8), Number(n)));
  };
}

function dv(b: Uint8Array): DataView { return new DataView(b.buffer, b.byteOffset, b.byteLength); }

function need(b: Uint8Array, bytes: number, f: ArrowField, what: string): void {
  if (b.byteLength < bytes) throw new ArrowFileError(`the ${what} buffer of column ${JSON.stringify(f.name)} holds ${b.byteLength} bytes where ${bytes} are needed: the file is corrupt`);
}

/** A null test from a validity bitmap (none, or a null count of 0: all valid). */
function validity(buf: () => Uint8Array, n: { length: number; nullCount: number }, f: ArrowField): (i: number) => boolean {
  if (n.nullCount === 0) return () => true;
  let bits: Uint8Array | undefined;
  return i => {
    if (!bits) {
      bits = buf();
      if (bits.byteLength === 0) return true;
      need(bits, Math.ceil(n.length / 8), f, 'validity');
    }
    return bits.byteLength === 0 || (bits[i >> 3] >> (i & 7) & 1) === 1;
  };
}

const pad = (n: number | bigint, w = 2) => String(n).padStart(w, '0');

function timeString(v: bigint, per: bigint): string {
  const neg = v < 0n;
  if (neg) v = -v;
  const secs = v / per; const frac = v % per;
  const digits = String(per).length - 1;
  const f = frac ? `.${pad(frac, digits).replace(/0+$/, '')}` : '';
  return `${neg ? '-' : ''}${pad(secs / 3600n)}:${pad(secs / 60n % 60n)}:${pad(secs % 60n)}${f}`;
}

/** Seconds with an exact fraction: nanoseconds (a bigint, any sign) as "-12.5". */
function secText(ns: bigint): string {
  const neg = ns < 0n; const a = neg ? -ns : ns;
  const frac = a % 1_000_000_000n;
  return `${neg ? '-' : ''}${a / 1_000_000_000n}${frac ? `.${pad(frac, 9).replace(/0+$/, '')}` : ''}`;
}

/** An ISO 8601 duration from months, days and nanoseconds, each component carrying its own sign
 *  ("P-1Y-2M3DT-4H"), as PostgreSQL prints intervals in ISO style; zero is "PT0S". */
export function durationString(months: number, days: number, nanos: bigint): string {
  const y = Math.trunc(months / 12); const mo = months % 12;
  const h = nanos / 3_600_000_000_000n; const mi = nanos / 60_000_000_000n % 60n; const s = nanos % 60_000_000_000n;
  const date = `${y ? `${y}Y` : ''}${mo ? `${mo}M` : ''}${days ? `${days}D` : ''}`;
  const time = `${h ? `${h}H` : ''}${mi ? `${mi}M` : ''}${s ? `${secText(s)}S` : ''}`;
  return !date && !time ? 'PT0S' : `P${date}${time ? `T${time}` : ''}`;
}

/** A fixed-width value reader: row i from the data bytes. */
function fixedReader(f: ArrowField, le: boolean): { width: number; read(d: DataView, b: Uint8Array, i: number): unknown } | undefined {
  const t = f.type;
  switch (t.kind) {
    case 'int': {
      const w = t.bitWidth / 8;
      if (![1, 2, 4, 8].includes(w)) return undefined;
      const r = [
        t.signed ? (d: DataView, i: number) => d.getInt8(i) : (d: DataView, i: number) => d.getUint8(i),
        t.signed ? (d: DataView, i: number) => d.getInt16(2 * i, le) : (d: DataView, i: number) => d.getUint16(2 * i, le),
        t.signed ? (d: DataView, i: number) => d.getInt32(4 * i, le) : (d: DataView, i: number) => d.getUint32(4 * i, le),
        t.signed ? (d: DataView, i: number) => d.getBigInt64(8 * i, le) : (d: DataView, i: number) => d.getBigUint64(8 * i, le),
      ][Math.log2(w)];
      return { width: w, read: (d, _b, i) => r(d, i) };
    }
    case 'float':
      if (t.precision === 0) return { width: 2, read: (d, _b, i) => halfFloat(d.getUint16(2 * i, le)) };
      if (t.precision === 1) return { width: 4, read: (d, _b, i) => d.getFloat32(4 * i, le) };
      if (t.precision === 2) return { width: 8, read: (d, _b, i) => d.getFloat64(8 * i, le) };
      return undefined;
    case 'decimal': {
      const w = t.bitWidth / 8;
      if (![4, 8, 16, 32].includes(w)) return undefined;
      return {
        width: w, read: (_d, b, i) => {
          let v = 0n;
          const at = i * w;
          if (le) for (let k = w - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[at + k]);
          else for (let k = 0; k < w; k++) v = (v << 8n) | BigInt(b[at + k]);
          return decimalString(BigInt.asIntN(t.bitWidth, v), t.scale);
        },
      };
    }
    case 'date':
      if (t.unit === 0) return { width: 4, read: (d, _b, i) => dateString(d.getInt32(4 * i, le)) };
      if (t.unit === 1) return { width: 8, read: (d, _b, i) => { const ms = d.getBigInt64(8 * i, le); return dateString(Number((ms - ((ms % 86_400_000n) + 86_400_000n) % 86_400_000n) / 86_400_000n)); } };
      return undefined;
    case 'time': {
      const per = PER[t.unit];
      if (per === undefined) return undefined;
      if (t.bitWidth === 32) return { width: 4, read: (d, _b, i) => timeString(BigInt(d.getInt32(4 * i, le)), per) };
      if (t.bitWidth === 64) return { width: 8, read: (d, _b, i) => timeString(d.getBigInt64(8 * i, le), per) };
      return undefined;
    }
    case 'timestamp': {
      const per = PER[t.unit];
      if (per === undefined) return undefined;
      return { width: 8, read: (d, _b, i) => timestampString(d.getBigInt64(8 * i, le), per, !!t.timezone) };
    }
    case 'duration': {
      const per = PER[t.unit];
      if (per === undefined) return undefined;
      return { width: 8, read: (d, _b, i) => durationString(0, 0, d.getBigInt64(8 * i, le) * (1_000_000_000n / per)) };
    }
    case 'interval':
      if (t.unit === 0) return { width: 4, read: (d, _b, i) => durationString(d.getInt32(4 * i, le), 0, 0n) };
      if (t.unit === 1) return { width: 8, read: (d, _b, i) => durationString(0, d.getInt32(8 * i, le), BigInt(d.getInt32(8 * i + 4, le)) * 1_000_000n) };
      if (t.unit === 2) return { width: 16, read: (d, _b, i) => durationString(d.getInt32(16 * i, le), d.getInt32(16 * i + 4, le), d.getBigInt64(16 * i + 8, le)) };
      return undefined;
    case 'fixedsizebinary':
      if (t.byteWidth < 0) return undefined;
      return { width: t.byteWidth, read: (_d, b, i) => b.slice(i * t.byteWidth, (i + 1) * t.byteWidth) };
    default:
      return undefined;
  }
}

function refuse(f: ArrowField, why: string): ArrowFileError {
  return new ArrowFileError(`column ${JSON.stringify(f.name)} has type ${why}, which this reader does not decode`);
}

const utf8 = new TextDecoder();

/** Offsets (32- or 64-bit) of a variable-size layout: start and end of row i, checked against `limit`. */
function offsetsReader(buf: () => Uint8Array, length: number, wide: boolean, le: boolean, f: ArrowField, limit: () => number): (i: number) => [number, number] {
  let d: DataView | undefined;
  return i => {
    if (!d) { const b = buf(); need(b, length === 0 ? 0 : (length + 1) * (wide ? 8 : 4), f, 'offsets'); d = dv(b); }
    const s = wide ? Number(d.getBigInt64(8 * i, le)) : d.getInt32(4 * i, le);
    const e = wide ? Number(d.getBigInt64(8 * i + 8, le)) : d.getInt32(4 * i + 4, le);
    if (!(s >= 0 && e >= s && e <= limit())) throw new ArrowFileError(`row ${i + 1} of column ${JSON.stringify(f.name)} has offsets ${s}-${e} outside its ${limit()} values: the file is corrupt (or its byte order is not what it says)`);
    return [s, e];
  };
}

/** The column for field `f`, taking its field nodes and buffers from `ctx` in schema order. */
export function decodeColumn(f: ArrowField, ctx: BatchCtx, depth = 0): Column {
  if (depth > 64) throw new ArrowFileError(`column ${JSON.stringify(f.name)} nests deeper than 64 levels`);
  const n = nextNode(ctx, f);
  const t = f.type;
  const le = ctx.le;
  const length = n.length;
  const col = (valid: (i: number) => boolean, get: (i: number) => unknown): Column => ({ length, get: i => (valid(i) ? get(i) : null) });

  if (f.dictionary) {
    const valid = validity(nextBuffer(ctx, f), n, f);
    const data = nextBuffer(ctx, f);
    const it = f.dictionary.indexType;
    const idx = fixedReader({ ...f, dictionary: undefined, type: { kind: 'int', bitWidth: it.bitWidth, signed: it.signed } }, le);
    if (!idx) throw refuse(f, `a dictionary with ${it.bitWidth}-bit indices`);
    const id = f.dictionary.id;
    let d: DataView | undefined; let b: Uint8Array | undefined;
    return col(valid, i => {
      if (!b) { b = data(); need(b, length * idx.width, f, 'dictionary index'); d = dv(b); }
      const k = Number(idx.read(d!, b, i));
      const dict = ctx.dictionaries.get(id);
      if (!dict) throw new ArrowFileError(`column ${JSON.stringify(f.name)} uses dictionary ${id}, which the file does not hold`);
      if (!(k >= 0 && k < dict.length)) throw new ArrowFileError(`row ${i + 1} of column ${JSON.stringify(f.name)} points at entry ${k} of a dictionary of ${dict.length}: the file is corrupt`);
      return dict.get(k);
    });
  }

  switch (t.kind) {
    case 'null':
      return { length, get: () => null };
    case 'bool': {
      const valid = validity(nextBuffer(ctx, f), n, f);
      const data = nextBuffer(ctx, f);
      let b: Uint8Array | undefined;
      return col(valid, i => { if (!b) { b = data(); need(b, Math.ceil(length / 8), f, 'data'); } return (b[i >> 3] >> (i & 7) & 1) === 1; });
    }
    case 'binary': case 'utf8': case 'largebinary': case 'largeutf8': {
      const valid = validity(nextBuffer(ctx, f), n, f);
      const wide = t.kind === 'largebinary' || t.kind === 'largeutf8';
      const offBuf = nextBuffer(ctx, f);
      const data = nextBuffer(ctx, f);
      const offs = offsetsReader(offBuf, length, wide, le, f, () => data().byteLength);
      const text = t.kind === 'utf8' || t.kind === 'largeutf8';
      return col(valid, i => { const [s, e] = offs(i); const b = data(); return text ? utf8.decode(b.subarray(s, e)) : b.slice(s, e); });
    }
    case 'binaryview': case 'utf8view': {
      const valid = validity(nextBuffer(ctx, f), n, f);
      const views = nextBuffer(ctx, f);
      const count = ctx.meta.variadic[ctx.variadic++];
      if (count === undefined) throw new ArrowFileError(`the record batch does not say how many data buffers column ${JSON.stringify(f.name)} has: the file is corrupt`);
      const bufs = Array.from({ length: count }, () => nextBuffer(ctx, f));
      const text = t.kind === 'utf8view';
      let d: DataView | undefined; let b: Uint8Array | undefined;
      return col(valid, i => {
        if (!b) { b = views(); need(b, 16 * length, f, 'views'); d = dv(b); }
        const size = d!.getInt32(16 * i, le);
        let bytes: Uint8Array;
        if (size <= 12) {
          if (size < 0) throw new ArrowFileError(`row ${i + 1} of column ${JSON.stringify(f.name)} has a negative size: the file is corrupt`);
          bytes = b.subarray(16 * i + 4, 16 * i + 4 + size);
        } else {
          const k = d!.getInt32(16 * i + 8, le); const off = d!.getInt32(16 * i + 12, le);
          const src = bufs[k]?.();
          if (!src || off < 0 || off + size > src.byteLength) throw new ArrowFileError(`row ${i + 1} of column ${JSON.stringify(f.name)} points outside its data buffers: the file is corrupt`);
          bytes = src.subarray(off, off + size);
        }
        return text ? utf8.decode(bytes) : bytes.slice();
      });
    }
    case 'list': case 'largelist': case 'map': {
      const valid = validity(nextBuffer(ctx, f), n, f);
      const offBuf = nextBuffer(ctx, f);
      if (f.children.length !== 1) throw new ArrowFileError(`list column ${JSON.stringify(f.name)} has ${f.children.length} child fields instead of 1: the file is corrupt`);
      const child = decodeColumn(f.children[0], ctx, depth + 1);
      const offs = offsetsReader(offBuf, length, t.kind === 'largelist', le, f, () => child.length);
      if (t.kind === 'map') {
        const kv = f.children[0];
        if (kv.type.kind !== 'struct' || kv.children.length !== 2) throw new ArrowFileError(`map column ${JSON.stringify(f.name)} does not hold key-value entries: the file is corrupt`);
        const [k, v] = (child as StructColumn).fields;
        return col(valid, i => { const [s, e] = offs(i); const out: unknown[] = []; for (let j = s; j < e; j++) out.push([k.get(j), v.get(j)]); return out; });
      }
      return col(valid, i => { const [s, e] = offs(i); const out: unknown[] = []; for (let j = s; j < e; j++) out.push(child.get(j)); return out; });
    }
    case 'listview': case 'largelistview': {
      const valid = validity(nextBuffer(ctx, f), n, f);
      const offBuf = nextBuffer(ctx, f);
      const sizeBuf = nextBuffer(ctx, f);
      if (f.children.length !== 1) throw new ArrowFileError(`list view column ${JSON.stringify(f.name)} has ${f.children.length} child fields instead of 1: the file is corrupt`);
      const child = decodeColumn(f.children[0], ctx, depth + 1);
      const wide = t.kind === 'largelistview';
      let od: DataView | undefined; let sd: DataView | undefined;
      return col(valid, i => {
        if (!od) { const o = offBuf(); const z = sizeBuf(); need(o, length * (wide ? 8 : 4), f, 'offsets'); need(z, length * (wide ? 8 : 4), f, 'sizes'); od = dv(o); sd = dv(z); }
        const s = wide ? Number(od.getBigInt64(8 * i, le)) : od.getInt32(4 * i, le);
        const size = wide ? Number(sd!.getBigInt64(8 * i, le)) : sd!.getInt32(4 * i, le);
        if (!(s >= 0 && size >= 0 && s + size <= child.length)) throw new ArrowFileError(`row ${i + 1} of column ${JSON.stringify(f.name)} points outside its ${child.length} values: the file is corrupt`);
        const out: unknown[] = []; for (let j = s; j < s + size; j++) out.push(child.get(j)); return out;
      });
    }
    case 'fixedsizelist': {
      const valid = validity(nextBuffer(ctx, f), n, f);
      if (f.children.length !== 1) throw new ArrowFileError(`list column ${JSON.stringify(f.name)} has ${f.children.length} child fields instead of 1: the file is corrupt`);
      const child = decodeColumn(f.children[0], ctx, depth + 1);
      const w = t.size;
      return col(valid, i => {
        if (w < 0 || (i + 1) * w > child.length) throw new ArrowFileError(`row ${i + 1} of column ${JSON.stringify(f.name)} points outside its ${child.length} values: the file is corrupt`);
        const out: unknown[] = []; for (let j = i * w; j < (i + 1) * w; j++) out.push(child.get(j)); return out;
      });
    }
    case 'struct': {
      const valid = validity(nextBuffer(ctx, f), n, f);
      const kids = f.children.map(c => decodeColumn(c, ctx, depth + 1));
      const keys = structKeys(f.children);
      for (const [j, k] of kids.entries()) if (k.length < length) throw new ArrowFileError(`field ${JSON.stringify(keys[j])} of struct column ${JSON.stringify(f.name)} has ${k.length} values for ${length} rows: the file is corrupt`);
      const c: StructColumn = { ...col(valid, i => { const o: Record<string, unknown> = {}; kids.forEach((k, j) => { Object.defineProperty(o, keys[j], { value: k.get(i), enumerable: true, writable: true, configurable: true }); }); return o; }), fields: kids };
      return c;
    }
    case 'union': {
      const valid = ctx.version < 4 ? validity(nextBuffer(ctx, f), n, f) : () => true;
      const typesBuf = nextBuffer(ctx, f);
      const offBuf = t.dense ? nextBuffer(ctx, f) : undefined;
      const kids = f.children.map(c => decodeColumn(c, ctx, depth + 1));
      const ids = t.typeIds ?? f.children.map((_c, j) => j);
      const byCode = new Map(ids.map((c, j) => [c, j]));
      let tb: Uint8Array | undefined; let od: DataView | undefined;
      return col(valid, i => {
        if (!tb) { tb = typesBuf(); need(tb, length, f, 'type id'); if (offBuf) { const o = offBuf(); need(o, 4 * length, f, 'offsets'); od = dv(o); } }
        const code = (tb[i] << 24) >> 24;
        const j = byCode.get(code);
        if (j === undefined || !kids[j]) throw new ArrowFileError(`row ${i + 1} of union column ${JSON.stringify(f.name)} has type id ${code}, which it does not declare: the file is corrupt`);
        const at = od ? od.getInt32(4 * i, le) : i;
        if (!(at >= 0 && at < kids[j].length)) throw new ArrowFileError(`row ${i + 1} of union column ${JSON.stringify(f.name)} points outside its child: the file is corrupt`);
        return kids[j].get(at);
      });
    }
    case 'runendencoded': {
      if (f.children.length !== 2) throw new ArrowFileError(`run-end encoded column ${JSON.stringify(f.name)} has ${f.children.length} child fields instead of 2: the file is corrupt`);
      const ends = decodeColumn(f.children[0], ctx, depth + 1);
      const values = decodeColumn(f.children[1], ctx, depth + 1);
      if (f.children[0].type.kind !== 'int') throw new ArrowFileError(`the run ends of column ${JSON.stringify(f.name)} are not integers: the file is corrupt`);
      const end = (k: number) => Number(ends.get(k));
      return {
        length, get: i => {
          let lo = 0; let hi = ends.length - 1;
          if (hi < 0 || end(hi) <= i) throw new ArrowFileError(`row ${i + 1} of column ${JSON.stringify(f.name)} lies past its last run: the file is corrupt`);
          while (lo < hi) { const mid = (lo + hi) >> 1; if (end(mid) > i) hi = mid; else lo = mid + 1; }
          if (lo >= values.length) throw new ArrowFileError(`column ${JSON.stringify(f.name)} has more runs than values: the file is corrupt`);
          return values.get(lo);
        },
      };
    }
    default:
      break;
  }
  const fixed = fixedReader(f, le);
  if (fixed) {
    const valid = validity(nextBuffer(ctx, f), n, f);
    const data = nextBuffer(ctx, f);
    let d: DataView | undefined; let b: Uint8Array | undefined;
    return col(valid, i => { if (!b) { b = data(); need(b, length * fixed.width, f, 'data'); d = dv(b); } return fixed.read(d!, b, i); });
  }
  throw refuse(f, typeName(f));
}
