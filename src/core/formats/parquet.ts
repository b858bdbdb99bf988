import type { ColumnInfo } from '../result';
import { RowBudget, type BudgetStop } from '../bounds';
import type { Limits } from '../config';

export interface RangedSource {
  byteLength: number;
  /** Reads [start, end) */
  read(start: number, end: number): Promise<ArrayBuffer>;
}

export interface ParquetHead {
  columns: ColumnInfo[];
  rows: unknown[][];
  /** Rows in the file: the row groups' counts from the footer, corrected by the data where a row group was read whole. */
  totalRows: number;
  rowGroups: number;
  /** Distinct bytes of the file read (never more than the file's size). */
  bytesRead: number;
  /** Things the model must be told about the values (e.g. invalid UTF-8 shown as bytes). */
  notes: string[];
  /** Set when the rows stopped at a byte budget: `row` is the row (1-based) that did not fit. */
  stopped?: BudgetStop;
}

/** An error about the file itself (corrupt, unsupported, encrypted), worded for the model. */
export class ParquetFileError extends Error {}

/** Counts distinct byte ranges read, so re-reads of the same bytes are not counted twice. */
export class DistinctRanges {
  private spans: [number, number][] = [];
  add(s: number, e: number): void {
    if (e <= s) return;
    const out: [number, number][] = [];
    let placed = false;
    for (const [a, b] of this.spans) {
      if (b < s) out.push([a, b]);
      else if (a > e) { if (!placed) { out.push([s, e]); placed = true; } out.push([a, b]); } else { s = Math.min(s, a); e = Math.max(e, b); }
    }
    if (!placed) out.push([s, e]);
    this.spans = out;
  }
  get total(): number { return this.spans.reduce((n, [a, b]) => n + b - a, 0); }
}

/** The file through ranged reads: counts distinct bytes, keeps a few recent buffers so page-header scans and the
 *  decoder do not fetch the same bytes twice. Memory is bounded by `cacheBytes`. */
class FileIO {
  readonly ranges = new DistinctRanges();
  private cache: { start: number; buf: ArrayBuffer }[] = [];
  private cached = 0;
  constructor(private src: RangedSource, private cacheBytes = 8 << 20) {}
  get byteLength(): number { return this.src.byteLength; }
  async read(s: number, e: number): Promise<ArrayBuffer> {
    if (s < 0 || e > this.src.byteLength || s > e) throw new ParquetFileError(`a read of bytes ${s}-${e} falls outside the file (${this.src.byteLength} bytes): the file is truncated or its metadata is corrupt`);
    for (const c of this.cache) if (s >= c.start && e <= c.start + c.buf.byteLength) return c.buf.slice(s - c.start, e - c.start);
    // a range made of cached pieces (hyparquet joins neighbouring column chunks into one read)
    const pieces = this.cache.filter(c => c.start < e && c.start + c.buf.byteLength > s).sort((x, y) => x.start - y.start);
    let at = s;
    for (const c of pieces) if (c.start <= at) at = Math.max(at, c.start + c.buf.byteLength);
    if (at >= e && pieces.length) {
      const out = new Uint8Array(e - s);
      for (const c of pieces) {
        const a0 = Math.max(s, c.start); const b0 = Math.min(e, c.start + c.buf.byteLength);
        out.set(new Uint8Array(c.buf, a0 - c.start, b0 - a0), a0 - s);
      }
      return out.buffer;
    }
    const buf = await this.src.read(s, e);
    if (buf.byteLength !== e - s) throw new ParquetFileError(`could read only ${buf.byteLength} of bytes ${s}-${e}: the file is truncated`);
    this.ranges.add(s, e);
    if (buf.byteLength <= this.cacheBytes) {
      this.cache.push({ start: s, buf });
      this.cached += buf.byteLength;
      while (this.cached > this.cacheBytes && this.cache.length > 1) this.cached -= this.cache.shift()!.buf.byteLength;
    }
    return buf;
  }
  /** Synthetic column chunks, addressed past the end of the file (see scanChunk). */
  private virtual: { start: number; buf: Uint8Array }[] = [];
  private virtualEnd = 0;
  addVirtual(parts: Uint8Array[]): number {
    const start = Math.max(this.virtualEnd, this.src.byteLength);
    let at = start;
    for (const p of parts) { this.virtual.push({ start: at, buf: p }); at += p.length; }
    this.virtualEnd = at;
    return start;
  }
  private readVirtual(s: number, e: number): ArrayBuffer {
    const out = new Uint8Array(e - s);
    for (const v of this.virtual) {
      const a = Math.max(s, v.start); const b = Math.min(e, v.start + v.buf.length);
      if (a < b) out.set(v.buf.subarray(a - v.start, b - v.start), a - s);
    }
    return out.buffer;
  }
  /** Drops cached buffers (between row groups, so memory stays flat). */
  clear(): void { this.cache = []; this.cached = 0; this.virtual = []; this.virtualEnd = 0; }
  /** hyparquet's AsyncBuffer */
  asyncBuffer() {
    const size = this.src.byteLength;
    return { byteLength: Math.max(size, this.virtualEnd), slice: async (start: number, end?: number) => {
      const e = end ?? size;
      const s = start < 0 ? Math.max(0, size + start) : start; // explicit offsets (S3 suffix ranges are unreliable)
      if (e <= size) return this.read(s, e);
      if (s >= size) return this.readVirtual(s, e);
      const out = new Uint8Array(e - s);
      out.set(new Uint8Array(await this.read(s, size)), 0);
      out.set(new Uint8Array(this.readVirtual(size, e)), size - s);
      return out.buffer;
    } };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Thrift compact protocol, just enough for page headers

class Thrift {
  pos = 0;
  constructor(private b: Uint8Array) {}
  private byte(): number { if (this.pos >= this.b.length) throw new RangeError('short'); return this.b[this.pos++]; }
  varint(): number { let r = 0; let m = 1; for (;;) { const x = this.byte(); r += (x & 0x7f) * m; if (!(x & 0x80)) return r; m *= 128; if (m > 2 ** 63) throw new ParquetFileError('bad varint in a page header'); } }
  zigzag(): number { const v = this.varint(); return v % 2 ? -(v + 1) / 2 : v / 2; }
  private skip(t: number): void {
    switch (t) {
      case 1: case 2: return;
      case 3: this.byte(); return;
      case 4: case 5: case 6: this.varint(); return;
      case 7: this.pos += 8; return;
      case 8: { const n = this.varint(); this.pos += n; return; } // (read the length before adding: `pos += varint()` reads pos first)
      case 9: case 10: { const h = this.byte(); let n = h >> 4; if (n === 15) n = this.varint(); const et = h & 15; for (let i = 0; i < n; i++) this.value(et); return; }
      case 11: { const n = this.varint(); if (n) { const kv = this.byte(); for (let i = 0; i < n; i++) { this.value(kv >> 4); this.value(kv & 15); } } return; }
      case 12: this.struct(); return;
      default: throw new ParquetFileError(`unknown thrift type ${t} in a page header`);
    }
  }
  private value(t: number): unknown {
    if (t === 1) return true;
    if (t === 2) return false;
    if (t === 3) return this.byte();
    if (t === 4 || t === 5 || t === 6) return this.zigzag();
    if (t === 12) return this.struct();
    this.skip(t);
    return undefined;
  }
  struct(): Record<number, unknown> {
    const out: Record<number, unknown> = {};
    let id = 0;
    for (;;) {
      const h = this.byte();
      if (h === 0) return out;
      const d = h >> 4;
      id = d ? id + d : this.zigzag();
      const t = h & 15;
      // booleans in a struct field carry their value in the type nibble
      out[id] = t === 1 ? true : t === 2 ? false : this.value(t);
      if (this.pos > this.b.length) throw new RangeError('short');
    }
  }
}

interface PageHeader { type: number; uncompressed: number; compressed: number; numValues: number; enc?: number; defEnc?: number; repEnc?: number; numRows?: number; repBytes?: number; defBytes?: number; headerLen: number }

/** The first n levels of an RLE/bit-packed hybrid stream. */
function decodeLevels(b: Uint8Array, n: number, bitWidth: number): Uint8Array {
  const out = new Uint8Array(n);
  let pos = 0; let seen = 0;
  const varint = () => { let r = 0; let m = 1; for (;;) { if (pos >= b.length) throw new ParquetFileError('definition levels run past the end of their page'); const x = b[pos++]; r += (x & 0x7f) * m; if (!(x & 0x80)) return r; m *= 128; } };
  const bytes = Math.ceil(bitWidth / 8);
  while (seen < n) {
    const h = varint();
    if (h & 1) {
      const groups = h >>> 1;
      for (let i = 0; i < groups * 8 && seen < n; i++, seen++) {
        let v = 0;
        for (let k = 0; k < bitWidth; k++) { const p = i * bitWidth + k; v |= ((b[pos + (p >> 3)] >> (p & 7)) & 1) << k; }
        out[seen] = v;
      }
      pos += groups * bitWidth;
    } else {
      const count = h >>> 1;
      if (count === 0) throw new ParquetFileError('an empty run in the definition levels');
      let v = 0;
      for (let k = 0; k < bytes; k++) v |= b[pos + k] << (8 * k);
      pos += bytes;
      for (let i = 0; i < count && seen < n; i++) out[seen++] = v;
    }
  }
  return out;
}

/** Levels as RLE runs. */
function encodeRle(levels: Uint8Array, bitWidth: number): Uint8Array {
  const out: number[] = [];
  const bytes = Math.ceil(bitWidth / 8);
  for (let i = 0; i < levels.length;) {
    let j = i; while (j < levels.length && levels[j] === levels[i]) j++;
    let h = (j - i) * 2; while (h >= 0x80) { out.push((h & 0x7f) | 0x80); h = Math.floor(h / 128); } out.push(h);
    for (let k = 0; k < bytes; k++) out.push((levels[i] >> (8 * k)) & 0xff);
    i = j;
  }
  return Uint8Array.from(out);
}

/** The first `want` bytes of a Snappy stream's output (Snappy is decoded front to back, so the prefix is exact). */
function snappyPrefix(src: Uint8Array, want: number): Uint8Array {
  const bad = () => new ParquetFileError('the Snappy-compressed page is corrupt');
  let p = 0; let total = 0; let m = 1;
  for (;;) { const x = src[p++]; if (x === undefined) throw bad(); total += (x & 0x7f) * m; if (!(x & 0x80)) break; m *= 128; }
  const out = new Uint8Array(Math.min(want, total));
  let o = 0;
  while (o < out.length) {
    if (p >= src.length) throw bad();
    const tag = src[p++];
    const t = tag & 3;
    if (t === 0) {
      let len = tag >>> 2;
      if (len >= 60) { const nb = len - 59; len = 0; for (let i = 0; i < nb; i++) len += src[p + i] * 256 ** i; p += nb; }
      len += 1;
      const n = Math.min(len, out.length - o);
      if (p + n > src.length) throw bad();
      out.set(src.subarray(p, p + n), o); o += n; p += len;
    } else {
      let len: number; let off: number;
      if (t === 1) { len = ((tag >>> 2) & 7) + 4; off = ((tag >>> 5) << 8) | src[p++]; } else if (t === 2) { len = (tag >>> 2) + 1; off = src[p] | (src[p + 1] << 8); p += 2; } else { len = (tag >>> 2) + 1; off = (src[p] | (src[p + 1] << 8) | (src[p + 2] << 16)) + src[p + 3] * 16777216; p += 4; }
      if (!(off > 0) || off > o) throw bad();
      const n = Math.min(len, out.length - o);
      for (let i = 0; i < n; i++, o++) out[o] = out[o - off];
    }
  }
  return out;
}

/** The page cut to its first k values: definition levels for k, the values they need; undefined where the
 *  encoding cannot be cut (then the page is decoded whole). */
async function pagePrefix(fetch: (outBytes: number) => Promise<Uint8Array>, snappy: boolean, total: number, k: number, lf: Leaf, phys: string, enc: number, where: string): Promise<Uint8Array | undefined> {
  if (![0, 2, 3, 8].includes(enc)) return undefined;
  const MORE = Symbol('more');
  const cut = (d: Uint8Array): Uint8Array | typeof MORE | undefined => {
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    let off = 0; let nonNull = k; let levels: Uint8Array | undefined;
    if (lf.maxDef > 0) {
      if (d.length < 4) return MORE;
      const len = dv.getUint32(0, true);
      if (4 + len > d.length) return MORE;
      const bw = Math.ceil(Math.log2(lf.maxDef + 1));
      const lv = decodeLevels(d.subarray(4, 4 + len), k, bw);
      nonNull = 0; for (const x of lv) if (x === lf.maxDef) nonNull++;
      levels = encodeRle(lv, bw);
      off = 4 + len;
    }
    let e: number;
    if (enc === 0) {
      const width: Record<string, number> = { INT32: 4, FLOAT: 4, INT64: 8, DOUBLE: 8, INT96: 12, FIXED_LEN_BYTE_ARRAY: lf.typeLength ?? -1 };
      if (phys === 'BOOLEAN') e = off + Math.ceil(nonNull / 8);
      else if (phys === 'BYTE_ARRAY') {
        let p = off;
        for (let i = 0; i < nonNull; i++) { if (p + 4 > d.length) return MORE; p += 4 + dv.getUint32(p, true); if (p > d.length) return MORE; }
        e = p;
      } else if (width[phys] > 0) e = off + width[phys] * nonNull;
      else return undefined;
    } else if (enc === 3) {
      if (off + 4 > d.length) return MORE;
      e = off + 4 + dv.getUint32(off, true);
    } else {
      if (off + 1 > d.length) return MORE;
      const bw = d[off]; let p = off + 1; let count = 0;
      while (count < nonNull) {
        let h = 0; let m = 1;
        for (;;) { if (p >= d.length) return MORE; const x = d[p++]; h += (x & 0x7f) * m; if (!(x & 0x80)) break; m *= 128; }
        if (h & 1) { p += (h >>> 1) * bw; count += (h >>> 1) * 8; } else { if ((h >>> 1) === 0) throw new ParquetFileError(`${where}: an empty run in the dictionary indexes`); p += Math.ceil(bw / 8); count += h >>> 1; }
      }
      e = p;
    }
    if (e > d.length) return MORE;
    if (!levels) return d.subarray(0, e);
    const out = new Uint8Array(4 + levels.length + e - off);
    new DataView(out.buffer).setUint32(0, levels.length, true);
    out.set(levels, 4); out.set(d.subarray(off, e), 4 + levels.length);
    return out;
  };
  for (let want = Math.min(total, 1 << 16); ; want = Math.min(total, want * 4)) {
    const src = await fetch(want);
    const d = snappy ? snappyPrefix(src, want) : src.subarray(0, Math.min(src.length, want));
    const r = cut(d);
    if (r !== MORE) return r;
    if (want >= total || d.length < want) throw new ParquetFileError(`${where}: the page is shorter than the values its header promises`);
  }
}

/** Bytes as a valid Snappy stream of one literal (no compression). */
function snappyLiteral(raw: Uint8Array): Uint8Array {
  const head: number[] = [];
  let n = raw.length; while (n >= 0x80) { head.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); } head.push(n);
  const l = raw.length - 1;
  if (raw.length === 0) return Uint8Array.from(head);
  if (l < 60) head.push(l << 2);
  else { const nb = l < 256 ? 1 : l < 65536 ? 2 : l < 1 << 24 ? 3 : 4; head.push((59 + nb) << 2); for (let k = 0; k < nb; k++) head.push(Math.floor(l / 256 ** k) & 0xff); }
  const out = new Uint8Array(head.length + raw.length);
  out.set(head, 0); out.set(raw, head.length);
  return out;
}

/** A data page v1 header in thrift compact form (no statistics, no CRC). */
function writeDataPageHeader(h: { uncompressed: number; compressed: number; numValues: number; enc: number; defEnc: number; repEnc: number }): Uint8Array {
  const out: number[] = [];
  const varint = (v: number) => { while (v >= 0x80) { out.push((v & 0x7f) | 0x80); v = Math.floor(v / 128); } out.push(v); };
  const i32 = (delta: number, v: number) => { out.push((delta << 4) | 5); varint(v >= 0 ? v * 2 : -v * 2 - 1); };
  i32(1, 0); i32(1, h.uncompressed); i32(1, h.compressed);
  out.push((2 << 4) | 12); // field 5: data_page_header
  i32(1, h.numValues); i32(1, h.enc); i32(1, h.defEnc); i32(1, h.repEnc);
  out.push(0, 0);
  return Uint8Array.from(out);
}

function parsePageHeader(b: Uint8Array): PageHeader | undefined {
  const t = new Thrift(b);
  let s: Record<number, unknown>;
  try { s = t.struct(); } catch (e) { if (e instanceof RangeError) return undefined; throw e; }
  const dp = s[5] as Record<number, number> | undefined;
  const dict = s[7] as Record<number, number> | undefined;
  const v2 = s[8] as Record<number, number> | undefined;
  return {
    type: s[1] as number, uncompressed: s[2] as number, compressed: s[3] as number,
    numValues: (dp?.[1] ?? v2?.[1] ?? dict?.[1] ?? 0) as number, enc: dp?.[2], defEnc: dp?.[3], repEnc: dp?.[4], numRows: v2?.[3], defBytes: v2?.[5], repBytes: v2?.[6], headerLen: t.pos,
  };
}

/** Counts the zeros (row starts) among `n` repetition levels in RLE/bit-packed hybrid encoding. */
function countRowStarts(b: Uint8Array, n: number, bitWidth: number): number {
  let pos = 0; let seen = 0; let zeros = 0;
  const varint = () => { let r = 0; let m = 1; for (;;) { if (pos >= b.length) throw new ParquetFileError('repetition levels run past the end of their page'); const x = b[pos++]; r += (x & 0x7f) * m; if (!(x & 0x80)) return r; m *= 128; } };
  const bytes = Math.ceil(bitWidth / 8);
  let first = true;
  while (seen < n) {
    const h = varint();
    if (h & 1) {
      const groups = h >>> 1;
      const count = groups * 8;
      const mask = (1 << bitWidth) - 1;
      for (let i = 0; i < count && seen < n; i++, seen++) {
        const bit = i * bitWidth;
        let v = 0;
        for (let k = 0; k < bitWidth; k++) { const p = bit + k; const byte = b[pos + (p >> 3)]; if (byte === undefined) throw new ParquetFileError('repetition levels run past the end of their page'); v |= ((byte >> (p & 7)) & 1) << k; }
        if (first && (v & mask) !== 0) return -1;
        first = false;
        if ((v & mask) === 0) zeros++;
      }
      pos += groups * bitWidth;
    } else {
      const count = h >>> 1;
      if (count === 0) throw new ParquetFileError('an empty run in the repetition levels');
      let v = 0;
      for (let k = 0; k < bytes; k++) v |= b[pos + k] << (8 * k);
      pos += bytes;
      const take = Math.min(count, n - seen);
      if (first && v !== 0) return -1;
      first = false;
      if (v === 0) zeros += take;
      seen += take;
    }
  }
  return zeros;
}

const PAGE = { DATA: 0, INDEX: 1, DICT: 2, DATA_V2: 3 };
/** Pages with this many more values than the head needs are decoded only as far as it needs. */
const TRUNCATE_PAGES_OVER = 4096;

// ---------------------------------------------------------------------------------------------------------------
// Schema: logical type names and exact value conversion

interface SchemaElement { name: string; type?: string; type_length?: number; repetition_type?: string; converted_type?: string; logical_type?: Record<string, unknown> & { type: string }; scale?: number; precision?: number; num_children?: number }
interface Node { element: SchemaElement; children: Node[] }

type Conv = (v: unknown, note: (msg: string) => void) => unknown;

const pad = (n: number | bigint, w = 2) => String(n).padStart(w, '0');

/** days since 1970-01-01 → YYYY-MM-DD (proleptic Gregorian), without the host's zone */
export function dateString(days: number): string {
  if (!Number.isSafeInteger(days)) throw new ParquetFileError(`date ${days} days from 1970 is out of range`);
  // civil_from_days (H. Hinnant): exact for any day count, no Date, no host zone
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  // astronomical years (1 BC = 0, 2 BC = -1), as ISO 8601; years past 9999 without a sign, as PostgreSQL and DuckDB print them
  const ys = y < 0 ? `-${pad(-y, 4)}` : pad(y, 4);
  return `${ys}-${pad(m)}-${pad(d)}`;
}

/** A count of `unit`s (1e3 ms, 1e6 µs, 1e9 ns per second) since the epoch → ISO text, fraction trimmed. */
export function timestampString(v: bigint, perSecond: bigint, utc: boolean): string {
  let secs = v / perSecond;
  let frac = v % perSecond;
  if (frac < 0n) { frac += perSecond; secs -= 1n; }
  const days = secs >= 0n ? secs / 86400n : -((-secs + 86399n) / 86400n);
  const sod = Number(secs - days * 86400n);
  const digits = String(perSecond).length - 1;
  const f = frac ? `.${pad(frac, digits).replace(/0+$/, '')}` : '';
  return `${dateString(Number(days))}T${pad(Math.floor(sod / 3600))}:${pad(Math.floor(sod / 60) % 60)}:${pad(sod % 60)}${f}${utc ? 'Z' : ''}`;
}

function timeString(v: bigint, perSecond: bigint): string {
  const secs = Number(v / perSecond);
  const frac = v % perSecond;
  const digits = String(perSecond).length - 1;
  const f = frac ? `.${pad(frac, digits).replace(/0+$/, '')}` : '';
  return `${pad(Math.floor(secs / 3600))}:${pad(Math.floor(secs / 60) % 60)}:${pad(secs % 60)}${f}`;
}

export function decimalString(unscaled: bigint, scale: number): string {
  if (scale <= 0) return (unscaled * 10n ** BigInt(-scale)).toString();
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** INT96 (Impala/Spark): nanoseconds of the day (uint64 LE), then the Julian day (int32 LE); never wraps. */
function int96Nanos(b: Uint8Array): bigint {
  if (!(b instanceof Uint8Array) || b.length !== 12) throw new ParquetFileError('an INT96 value is not 12 bytes');
  const dv = new DataView(b.buffer, b.byteOffset, 12);
  return (BigInt(dv.getInt32(8, true)) - 2440588n) * 86_400_000_000_000n + dv.getBigUint64(0, true);
}

function signedBytes(b: Uint8Array): bigint {
  if (!b.length) return 0n;
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  if (b[0] & 0x80) v -= 1n << BigInt(b.length * 8);
  return v;
}

/** An IEEE 754 half-precision value from its 16 bits (exact in float64). */
export function halfFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function intervalString(b: Uint8Array): string {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const months = dv.getUint32(0, true); const days = dv.getUint32(4, true); const ms = dv.getUint32(8, true);
  const y = Math.floor(months / 12); const mo = months % 12;
  const h = Math.floor(ms / 3_600_000); const mi = Math.floor(ms / 60_000) % 60; const sec = (ms % 60_000) / 1000;
  const date = `${y ? `${y}Y` : ''}${mo ? `${mo}M` : ''}${days ? `${days}D` : ''}`;
  const time = `${h ? `${h}H` : ''}${mi ? `${mi}M` : ''}${sec ? `${sec}S` : ''}`;
  return !date && !time ? 'PT0S' : `P${date}${time ? `T${time}` : ''}`;
}

/** Cells larger than this are refused: they cannot travel in a tool result (text or JSON). */
export const MAX_CELL_BYTES = 64 << 20;
function tooBig(b: Uint8Array, path: string): Uint8Array {
  if (b.length > MAX_CELL_BYTES) throw new ParquetFileError(`column ${path} holds a value of ${b.length.toLocaleString('en-US')} bytes; values over ${(MAX_CELL_BYTES >> 20)} MB cannot be returned in a tool result (leave the column out with \`columns\`)`);
  return b;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const UNITS: Record<string, bigint> = { MILLIS: 1000n, MICROS: 1_000_000n, NANOS: 1_000_000_000n };
const UNIT_NAME: Record<string, string> = { MILLIS: 'ms', MICROS: 'us', NANOS: 'ns' };

/** The logical type name and the converter of one leaf. */
function leaf(el: SchemaElement, path: string): { type: string; conv: Conv } {
  const lt = el.logical_type;
  const ct = el.converted_type;
  const phys = el.type;
  const id: Conv = v => v;
  const big = (v: unknown) => typeof v === 'bigint' ? v : BigInt(v as number);
  const decimal = (): { type: string; conv: Conv } => {
    const scale = Number((lt?.scale as number | undefined) ?? el.scale ?? 0);
    const precision = Number((lt?.precision as number | undefined) ?? el.precision ?? 0);
    return { type: `decimal(${precision},${scale})`, conv: v => decimalString(v instanceof Uint8Array ? signedBytes(v) : big(v), scale) };
  };
  if (lt?.type === 'DECIMAL' || ct === 'DECIMAL') return decimal();
  if (lt?.type === 'DATE' || ct === 'DATE') return { type: 'date', conv: v => dateString(Number(v)) };
  if (lt?.type === 'TIMESTAMP' || ct === 'TIMESTAMP_MILLIS' || ct === 'TIMESTAMP_MICROS') {
    const unit = lt?.type === 'TIMESTAMP' ? String(lt.unit) : ct === 'TIMESTAMP_MILLIS' ? 'MILLIS' : 'MICROS';
    // a legacy converted type alone (no logical type): DuckDB and arrow-rs read it without a zone, so do we
    const utc = lt?.type === 'TIMESTAMP' ? !!lt.isAdjustedToUTC : false;
    return { type: `timestamp[${UNIT_NAME[unit]}${utc ? ', UTC' : ''}]`, conv: v => timestampString(big(v), UNITS[unit], utc) };
  }
  if (lt?.type === 'TIME' || ct === 'TIME_MILLIS' || ct === 'TIME_MICROS') {
    const unit = lt?.type === 'TIME' ? String(lt.unit) : ct === 'TIME_MILLIS' ? 'MILLIS' : 'MICROS';
    const utc = lt?.type === 'TIME' ? !!lt.isAdjustedToUTC : false;
    return { type: `time[${UNIT_NAME[unit]}${utc ? ', UTC' : ''}]`, conv: v => timeString(big(v), UNITS[unit]) };
  }
  if (phys === 'INT96') return { type: 'timestamp[ns]', conv: v => timestampString(int96Nanos(v as Uint8Array), 1_000_000_000n, false) };
  const intType = (bits: number, signed: boolean): { type: string; conv: Conv } => {
    const name = `${signed ? 'int' : 'uint'}${bits}`;
    if (bits === 64) return { type: name, conv: signed ? v => big(v) : v => BigInt.asUintN(64, big(v)) };
    // the stored INT32 is the value's low bits read as signed: an unsigned width takes them back as unsigned
    // (`>>> 0`, not `& 0xffffffff`: JS's & gives a signed 32-bit result, 4294967295 & 0xffffffff is -1)
    if (!signed) return { type: name, conv: v => typeof v === 'bigint' ? Number(BigInt.asUintN(bits, v)) : bits === 32 ? Number(v) >>> 0 : Number(v) & ((1 << bits) - 1) };
    return { type: name, conv: v => Number(v) };
  };
  if (lt?.type === 'INTEGER') return intType(Number(lt.bitWidth), !!lt.isSigned);
  const ints: Record<string, [number, boolean]> = { INT_8: [8, true], INT_16: [16, true], INT_32: [32, true], INT_64: [64, true], UINT_8: [8, false], UINT_16: [16, false], UINT_32: [32, false], UINT_64: [64, false] };
  if (ct && ints[ct]) return intType(...ints[ct]);
  if (lt?.type === 'FLOAT16') return { type: 'float16', conv: v => halfFloat((v as Uint8Array)[0] | ((v as Uint8Array)[1] << 8)) };
  if (lt?.type === 'UUID') return { type: 'uuid', conv: v => { const h = Buffer.from(v as Uint8Array).toString('hex'); return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`; } };
  if (ct === 'INTERVAL') return { type: 'interval', conv: v => intervalString(v as Uint8Array) };
  const text = (type: string): { type: string; conv: Conv } => ({ type, conv: (v, note) => {
    const b = v as Uint8Array;
    tooBig(b, path);
    try { return utf8.decode(b); } catch { note(`column ${path} holds invalid UTF-8 in a ${type} column; those cells are shown as bytes (hex), not as text`); return b; }
  } });
  if (lt?.type === 'STRING' || ct === 'UTF8') return text('string');
  if (lt?.type === 'ENUM' || ct === 'ENUM') return text('enum');
  if (lt?.type === 'JSON' || ct === 'JSON') return text('json');
  if (lt?.type === 'BSON' || ct === 'BSON') return { type: 'bson', conv: id };
  switch (phys) {
    case 'BOOLEAN': return { type: 'boolean', conv: id };
    case 'INT32': return { type: 'int32', conv: id };
    case 'INT64': return { type: 'int64', conv: v => big(v) };
    case 'FLOAT': return { type: 'float32', conv: id };
    case 'DOUBLE': return { type: 'float64', conv: id };
    case 'BYTE_ARRAY': return { type: lt?.type === 'GEOMETRY' ? 'geometry' : lt?.type === 'GEOGRAPHY' ? 'geography' : 'binary', conv: v => tooBig(v as Uint8Array, path) };
    case 'FIXED_LEN_BYTE_ARRAY': return { type: `fixed_size_binary[${el.type_length}]`, conv: id };
    default: throw new ParquetFileError(`column ${path} has an unknown physical type ${phys}`);
  }
}

function isListLike(n: Node): boolean {
  if (n.element.converted_type !== 'LIST' || n.children.length !== 1) return false;
  const c = n.children[0];
  return c.children.length <= 1 && c.element.repetition_type === 'REPEATED';
}
function isMapLike(n: Node): boolean {
  if (n.element.converted_type !== 'MAP' && n.element.converted_type !== 'MAP_KEY_VALUE') return false;
  if (n.children.length !== 1) return false;
  const kv = n.children[0];
  if (kv.children.length !== 2 || kv.element.repetition_type !== 'REPEATED') return false;
  const k = kv.children.find(c => c.element.name === 'key');
  const v = kv.children.find(c => c.element.name === 'value');
  return !!k && !!v && k.element.repetition_type !== 'REPEATED' && v.element.repetition_type !== 'REPEATED';
}

/** Type and converter of a node as hyparquet assembles it (with MAP annotations removed, see plainSchema). */
function nodeConv(n: Node, path: string, inList = false): { type: string; conv: Conv } {
  let base: { type: string; conv: Conv };
  if (isListLike(n)) {
    const mid = n.children[0];
    const elem = mid.children.length === 1 ? nodeConv(mid.children[0], `${path}.${mid.element.name}.${mid.children[0].element.name}`, true) : nodeConv(mid, `${path}.${mid.element.name}`, true);
    base = { type: `list<${elem.type}>`, conv: (v, note) => (v as unknown[]).map(x => x === null || x === undefined ? null : elem.conv(x, note)) };
  } else if (isMapLike(n)) {
    const kv = n.children[0];
    const kn = kv.children.find(c => c.element.name === 'key')!;
    const vn = kv.children.find(c => c.element.name === 'value')!;
    const k = nodeConv(kn, `${path}.key`, true); const val = nodeConv(vn, `${path}.value`, true);
    const name = kv.element.name;
    base = { type: `map<${k.type}, ${val.type}>`, conv: (v, note) => ((v as Record<string, unknown>)[name] as Record<string, unknown>[]).map(e => [
      e.key === null || e.key === undefined ? null : k.conv(e.key, note), e.value === null || e.value === undefined ? null : val.conv(e.value, note)]) };
  } else if ((n.element.converted_type === 'MAP' || n.element.converted_type === 'MAP_KEY_VALUE') && n.children.length === 1 && n.children[0].element.repetition_type === 'REPEATED' && n.children[0].children.length === 1) {
    // a map without values (as arrow-rs reads it): the list of its keys
    const kv = n.children[0]; const kn = kv.children[0];
    const k = nodeConv(kn, `${path}.${kv.element.name}.${kn.element.name}`, true);
    base = { type: `list<${k.type}>`, conv: (v, note) => ((v as Record<string, unknown>)[kv.element.name] as Record<string, unknown>[]).map(e => {
      const x = e[kn.element.name]; return x === null || x === undefined ? null : k.conv(x, note); }) };
  } else if (n.children.length) {
    const kids = n.children.map(c => ({ name: c.element.name, ...nodeConv(c, `${path}.${c.element.name}`) }));
    base = { type: `struct<${kids.map(k => `${k.name}: ${k.type}`).join(', ')}>`, conv: (v, note) => {
      const o = v as Record<string, unknown>; const out: Record<string, unknown> = {};
      for (const k of kids) { const x = o[k.name]; out[k.name] = x === null || x === undefined ? null : k.conv(x, note); }
      return out;
    } };
  } else base = leaf(n.element, path);
  if (n.element.repetition_type === 'REPEATED' && !inList) {
    const b = base;
    return { type: `list<${b.type}>`, conv: (v, note) => (v as unknown[]).map(x => x === null || x === undefined ? null : b.conv(x, note)) };
  }
  return base;
}

/** The schema as hyparquet should decode it: leaves without logical annotations (we convert exactly ourselves) and
 *  maps as plain repeated groups (hyparquet turns map keys into object property names). */
function plainSchema(schema: SchemaElement[]): SchemaElement[] {
  return schema.map((el, i) => {
    if (i === 0) return el;
    const o = { ...el };
    if (o.type === 'INT96') { o.type = 'FIXED_LEN_BYTE_ARRAY'; o.type_length = 12; } // raw bytes: hyparquet's INT96 conversion wraps at 64 bits
    if (o.type) { delete o.converted_type; delete o.logical_type; } else if (o.converted_type === 'MAP' || o.converted_type === 'MAP_KEY_VALUE' || o.logical_type?.type === 'MAP') { delete o.converted_type; delete o.logical_type; }
    return o;
  });
}

// ---------------------------------------------------------------------------------------------------------------

interface ChunkMeta { type: string; codec: string; path_in_schema: string[]; num_values: bigint; total_compressed_size: bigint; data_page_offset: bigint; dictionary_page_offset?: bigint; encodings?: string[] }
interface ColumnChunk { meta_data?: ChunkMeta; file_path?: string; crypto_metadata?: unknown; encrypted_column_metadata?: unknown; offset_index_offset?: bigint; offset_index_length?: number; column_index_offset?: bigint; column_index_length?: number }
interface RowGroup { columns: ColumnChunk[]; num_rows: bigint; total_byte_size?: bigint }

interface Leaf { path: string[]; maxRep: number; maxDef: number; flat: boolean; top: string; typeLength?: number }

function leaves(root: Node): Leaf[] {
  const out: Leaf[] = [];
  const walk = (n: Node, path: string[], rep: number, def: number, depth: number, top: string) => {
    const r = rep + (n.element.repetition_type === 'REPEATED' ? 1 : 0);
    const d = def + (n.element.repetition_type === 'REQUIRED' ? 0 : 1);
    if (!n.children.length) out.push({ path, maxRep: r, maxDef: d, flat: depth === 1 && r === 0, top, typeLength: n.element.type_length });
    for (const c of n.children) walk(c, [...path, c.element.name], r, d, depth + 1, top);
  };
  for (const c of root.children) walk(c, [c.element.name], 0, 0, 1, c.element.name);
  return out;
}

type Decompress = (input: Uint8Array, outputLength: number) => Uint8Array;

/** Scans page headers of one column chunk from its start, fetching bounded windows, until `need` complete rows are
 *  covered or the chunk ends. Page bodies are fetched only when the rows of a page must be counted from its
 *  repetition levels (nested columns, data page v1). */
async function scanChunk(io: FileIO, meta: ChunkMeta, lf: Leaf, need: number, decompress: (codec: string) => Decompress | undefined, where: string, limit: number, onNote: (m: string) => void): Promise<{ start: number; end: number; rows: number; complete: boolean; virtual: boolean; uncompressed: boolean }> {
  const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
  const size = Number(meta.total_compressed_size);
  let end = start + size;
  if (!(start >= 4) || !(size > 0) || end > io.byteLength - 8) throw new ParquetFileError(`${where}: the column chunk (bytes ${start}-${end}) lies outside the data part of the file (${io.byteLength} bytes)`);
  let pos = start; let rows = 0;
  const repWidth = Math.ceil(Math.log2(lf.maxRep + 1));
  const enough = () => lf.flat ? rows >= need : rows > need;
  while (pos < end && !enough()) {
    let win = Math.min(end - pos, 64 * 1024);
    let h: PageHeader | undefined;
    for (;;) {
      h = parsePageHeader(new Uint8Array(await io.read(pos, pos + win)));
      if (h || win >= end - pos) break;
      win = Math.min(end - pos, win * 4);
    }
    if (!h) throw new ParquetFileError(`${where}: the page header at byte ${pos} is cut off by the end of the column chunk`);
    if (typeof h.type !== 'number' || !(h.compressed >= 0) || !(h.uncompressed >= 0)) throw new ParquetFileError(`${where}: the page header at byte ${pos} is corrupt`);
    const body = pos + h.headerLen;
    const next = body + h.compressed;
    if (next > end) {
      // the footer's chunk size is too small (some writers get it wrong): read on by the page headers while the page
      // stays inside the data part of the file and does not reach into the next column chunk's pages
      if (next > limit) throw new ParquetFileError(`${where}: the page at byte ${pos} says it has ${h.compressed} bytes, but the column chunk ends ${end - body} bytes after its header`);
      onNote(`${where}: the footer gives the column chunk ${size} bytes, but its pages take ${next - start}; read by the page headers`);
      end = next;
    }
    if (h.type === PAGE.DICT && h.numValues < 0) throw new ParquetFileError(`${where}: the dictionary page at byte ${pos} has a negative value count (${h.numValues})`);
    // a flat column's big v1 page holding more rows than still needed: decode only the rows needed, by handing the
    // decoder the page under a header that counts fewer values (levels and PLAIN / dictionary values are read from
    // the front of the page, so the first k decode exactly as they would in the whole page)
    if (h.type === PAGE.DATA && lf.flat && h.numValues - (need - rows) > TRUNCATE_PAGES_OVER
      && (h.enc === 0 || h.enc === 2 || h.enc === 3 || h.enc === 8) && h.defEnc !== undefined && h.repEnc !== undefined) {
      const k = need - rows;
      let plainChunk = false;
      let page: Uint8Array = new Uint8Array(0);
      let uncompressed = h.uncompressed;
      if (meta.codec === 'UNCOMPRESSED' || meta.codec === 'SNAPPY') {
        // decompress only the front of the page that holds the k rows (Snappy decodes front to back), cut the
        // definition levels to k, and hand the decoder that prefix uncompressed: memory stays at the rows needed
        // only the front of the compressed page is fetched: Snappy needs at most 3 input bytes per output byte
        const fetch = async (outBytes: number) => new Uint8Array(await io.read(body, Math.min(next, body + (meta.codec === 'SNAPPY' ? 3 * outBytes + 16 : outBytes))));
        const cutPage = await pagePrefix(fetch, meta.codec === 'SNAPPY', h.uncompressed, k, lf, meta.type, h.enc!, `${where}, page at byte ${pos}`);
        if (cutPage) {
          uncompressed = cutPage.length;
          page = meta.codec === 'SNAPPY' && pos > start ? snappyLiteral(cutPage) : cutPage;
          plainChunk = pos === start || meta.codec === 'UNCOMPRESSED';
        } else page = new Uint8Array(0);
      } else if (lf.maxDef === 0) page = new Uint8Array(await io.read(body, next)); // (other codecs: only a required column's page can be cut, by its header)
      const header = page.length ? writeDataPageHeader({ uncompressed, compressed: page.length, numValues: k, enc: h.enc, defEnc: h.defEnc, repEnc: h.repEnc }) : undefined;
      if (!header) { rows += h.numValues; pos = next; continue; } // (another codec: decode the page whole)
      const parts = [pos > start ? new Uint8Array(await io.read(start, pos)) : new Uint8Array(0), header, page];
      const vstart = io.addVirtual(parts);
      rows += k;
      return { start: vstart, end: vstart + parts.reduce((n, p) => n + p.length, 0), rows, complete: false, virtual: true, uncompressed: plainChunk };
    }
    if (h.type === PAGE.DATA || h.type === PAGE.DATA_V2) {
      if (!(h.numValues >= 0)) throw new ParquetFileError(`${where}: the page at byte ${pos} has a negative value count`);
      if (h.type === PAGE.DATA_V2) {
        if (h.numRows === undefined || h.numRows < 0) throw new ParquetFileError(`${where}: the data page v2 at byte ${pos} has no row count`);
        rows += h.numRows;
      } else if (lf.flat || lf.maxRep === 0) rows += h.numValues;
      else {
        let page: Uint8Array = new Uint8Array(await io.read(body, next));
        if (meta.codec !== 'UNCOMPRESSED') {
          const d = decompress(meta.codec);
          if (!d) throw new ParquetFileError(`${where}: compression ${meta.codec} is not supported`);
          page = d(page, h.uncompressed);
        }
        if (page.length < 4) throw new ParquetFileError(`${where}: the data page at byte ${pos} is too short for its repetition levels`);
        const len = new DataView(page.buffer, page.byteOffset, 4).getUint32(0, true);
        if (4 + len > page.length) throw new ParquetFileError(`${where}: the repetition levels of the page at byte ${pos} run past the page`);
        let starts: number;
        try { starts = countRowStarts(page.subarray(4, 4 + len), h.numValues, repWidth); } catch (e) { throw new ParquetFileError(`${where}, data page at byte ${pos}: ${(e as Error).message} (the page header promises ${h.numValues} values)`); }
        if (starts < 0) throw new ParquetFileError(`${where}: the data page at byte ${pos} starts in the middle of a row (its first repetition level is not 0)`);
        rows += starts;
      }
    } else if (h.type !== PAGE.DICT && h.type !== PAGE.INDEX) throw new ParquetFileError(`${where}: unknown page type ${h.type} at byte ${pos}`);
    pos = next;
  }
  return { start, end: pos, rows, complete: pos >= end, virtual: false, uncompressed: false };
}

function friendly(e: unknown, where: string): Error {
  if (e instanceof ParquetFileError) return e;
  const m = (e as Error)?.message ?? String(e);
  if (/^parquet /.test(m) && !/undefined|of null|bounds|Offset|Invalid typed array|out of range/i.test(m)) return new ParquetFileError(`${where}: ${m.replace(/^parquet /, '')}`);
  if (/unsupported (encoding|compression|codec)|not supported|unsupported/i.test(m)) return new ParquetFileError(`${where}: ${m.replace(/^parquet /, '')}`);
  // a JavaScript error from inside the decoder says nothing useful to the model: describe the situation instead
  return new ParquetFileError(`${where}: the data is corrupt: it does not decode as the schema and encodings in the footer say (for example fewer values, levels or bytes than a page header promises, or nulls in a required column)`);
}

/** Reads the footer and, page by page, only as much of the first row groups as the first `nRows` rows need. */
export async function readParquetHead(src: RangedSource, o: { nRows: number; columns?: string[]; budget?: Pick<Limits, 'maxRowMb' | 'maxResultMb'> }): Promise<ParquetHead> {
  const budget = o.budget ? new RowBudget(o.budget) : undefined;
  let stopped: BudgetStop | undefined;
  const { parquetMetadataAsync, parquetRead, parquetSchema } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const io = new FileIO(src);
  if (src.byteLength < 12) throw new ParquetFileError(`the file has ${src.byteLength} bytes, too few for a Parquet file (it needs at least 12: the magic bytes, a footer length and the footer)`);
  const headMagic = Buffer.from(await io.read(0, 4)).toString('latin1');
  const tail = new Uint8Array(await io.read(src.byteLength - 8, src.byteLength));
  const tailMagic = Buffer.from(tail.subarray(4)).toString('latin1');
  if (tailMagic === 'PARE') throw new ParquetFileError('the file is encrypted (Parquet modular encryption with an encrypted footer); reading encrypted Parquet files is not supported');
  if (headMagic !== 'PAR1' || tailMagic !== 'PAR1') throw new ParquetFileError(`the file is not Parquet: it ${headMagic !== 'PAR1' ? 'does not start' : 'does not end'} with the magic bytes "PAR1"`);
  const footerLen = new DataView(tail.buffer, tail.byteOffset).getUint32(0, true);
  if (footerLen + 12 > src.byteLength) throw new ParquetFileError(`the footer length (${footerLen} bytes) is larger than the file (${src.byteLength} bytes): the file is truncated or corrupt`);
  let metadata;
  try {
    metadata = await parquetMetadataAsync(io.asyncBuffer(), { initialFetchSize: Math.min(64 * 1024, src.byteLength) });
  } catch (e) { throw e instanceof ParquetFileError ? e : new ParquetFileError('the footer (file metadata) is corrupt: it does not decode as Parquet metadata (its schema or row group list is damaged)'); }
  const rgs = metadata.row_groups as unknown as RowGroup[];
  if (rgs.some(g => g.columns.some(c => c.crypto_metadata !== undefined || c.encrypted_column_metadata !== undefined))) {
    throw new ParquetFileError('the file is encrypted (Parquet modular encryption: its columns are encrypted, the footer is plaintext); reading encrypted Parquet files is not supported');
  }
  const schemaEls = metadata.schema as unknown as SchemaElement[];
  let tree: Node;
  try { tree = parquetSchema(metadata) as unknown as Node; } catch { throw new ParquetFileError('the schema in the footer is corrupt (its elements do not form a tree)'); }
  const top = tree.children.map(c => {
    let info: { type: string; conv: Conv };
    try { info = nodeConv(c, c.element.name); } catch (e) { throw friendly(e, `column ${c.element.name}`); }
    return { name: c.element.name, ...info };
  });
  let sel = top;
  if (o.columns) {
    const missing = o.columns.filter(c => !top.some(a => a.name === c));
    if (missing.length) throw new Error(`unknown column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the file has ${top.map(a => a.name).join(', ')}`);
    sel = o.columns.map(c => top.find(a => a.name === c)!);
  }
  const names = sel.map(c => c.name);
  const allLeaves = leaves(tree);
  const wanted = allLeaves.filter(l => names.includes(l.top));
  const plain = plainSchema(schemaEls);
  const notes = new Set<string>();
  const note = (m: string) => notes.add(m);
  const decompress = (codec: string): Decompress | undefined => (compressors as Record<string, Decompress>)[codec];

  // where a column chunk's pages may end at the latest: the next chunk's start, or the footer
  const footerStart = src.byteLength - 8 - footerLen;
  const starts = rgs.flatMap(g => g.columns.map(c => c.meta_data ? Number(c.meta_data.dictionary_page_offset || c.meta_data.data_page_offset) : Infinity)).sort((a, b) => a - b);
  const nextChunkStart = (m: ChunkMeta) => { const s = Number(m.dictionary_page_offset || m.data_page_offset); return Math.min(footerStart, starts.find(x => x > s) ?? footerStart); };
  let totalRows = rgs.reduce((n, g) => n + Number(g.num_rows), 0);
  const rows: unknown[][] = [];
  for (let gi = 0; gi < rgs.length && rows.length < o.nRows && !stopped; gi++) {
    const g = rgs[gi];
    const footerRows = Number(g.num_rows);
    const need = o.nRows - rows.length;
    const where = (p?: string) => `row group ${gi + 1} of ${rgs.length}${p ? `, column ${p}` : ''}`;
    const cut = new Map<string, { start: number; end: number; virtual: boolean; uncompressed: boolean }>();
    let groupRows = Infinity;
    let readWhole = true;
    for (const lf of wanted) {
      const key = lf.path.join('.');
      const chunk = g.columns.find(c => c.meta_data?.path_in_schema.join('.') === key);
      if (!chunk?.meta_data) throw new ParquetFileError(`${where(key)}: the footer has no metadata for this column chunk`);
      if (chunk.file_path) throw new ParquetFileError(`${where(key)}: the column chunk is in another file (${chunk.file_path}); external column chunks are not supported`);
      const small = Number(chunk.meta_data.total_compressed_size) <= 1 << 20;
      if (small) { const s = Number(chunk.meta_data.dictionary_page_offset || chunk.meta_data.data_page_offset); const e = s + Number(chunk.meta_data.total_compressed_size); if (s >= 4 && e <= src.byteLength - 8) await io.read(s, e); }
      const sc = await scanChunk(io, chunk.meta_data, lf, need, decompress, where(key), nextChunkStart(chunk.meta_data), note);
      cut.set(key, sc);
      if (sc.complete) {
        if (groupRows !== Infinity && readWhole && sc.rows !== groupRows) throw new ParquetFileError(`${where()}: its columns hold different numbers of rows (${sc.rows} in ${key}, ${groupRows} in another column)`);
      } else readWhole = false;
      groupRows = Math.min(groupRows, sc.rows);
    }
    if (!wanted.length) { groupRows = footerRows; readWhole = false; }
    if (readWhole && groupRows !== footerRows) {
      totalRows += groupRows - footerRows; // the data, not the footer
      note(`row group ${gi + 1}: the footer says ${footerRows} rows, the data holds ${groupRows}; the count from the data is used`);
    }
    const take = Math.min(need, readWhole ? groupRows : Math.min(groupRows, footerRows));
    if (take <= 0 || !names.length) { io.clear(); continue; }
    const fakeGroup = { ...g, num_rows: BigInt(take), columns: g.columns.map(c => {
      const key = c.meta_data?.path_in_schema.join('.') ?? '';
      const k = cut.get(key);
      if (!k || !c.meta_data) return c;
      const { offset_index_offset: _a, offset_index_length: _b, column_index_offset: _c, column_index_length: _d, ...rest } = c;
      return { ...rest, meta_data: { ...c.meta_data, type: c.meta_data.type === 'INT96' ? 'FIXED_LEN_BYTE_ARRAY' : c.meta_data.type, codec: k.uncompressed ? 'UNCOMPRESSED' : c.meta_data.codec, dictionary_page_offset: c.meta_data.dictionary_page_offset ? BigInt(k.start) : undefined, data_page_offset: c.meta_data.dictionary_page_offset && !k.virtual ? c.meta_data.data_page_offset : BigInt(k.start), total_compressed_size: BigInt(k.end - k.start) } };
    }) };
    const fakeMeta = { ...metadata, schema: plain, num_rows: BigInt(take), row_groups: [fakeGroup] } as unknown as typeof metadata;
    let got: unknown[][] = [];
    try {
      await parquetRead({ file: io.asyncBuffer(), metadata: fakeMeta, columns: names, rowStart: 0, rowEnd: take, compressors, utf8: false,
        parsers: { timestampFromNanoseconds: (n: bigint) => n },
        onComplete: (r: unknown[][]) => { got = r; } });
    } catch (e) { throw friendly(e, where()); }
    if (got.length !== take) throw new ParquetFileError(`${where()}: the data decodes to ${got.length} rows where ${take} were expected`);
    for (const r of got) {
      const row = new Array(sel.length);
      for (let j = 0; j < sel.length; j++) {
        const v = r[j];
        if (v === undefined) throw new ParquetFileError(`${where(sel[j].name)}: the column has fewer values than the row group has rows`);
        try { row[j] = v === null ? null : sel[j].conv(v, note); } catch (e) { throw friendly(e, where(sel[j].name)); }
      }
      // the rows kept are counted in bytes (the decoded group is let go below): the first that does not fit stops the read
      if (budget && (stopped = budget.add(row))) break;
      rows.push(row);
    }
    got = [];
    io.clear();
  }
  return { columns: sel.map(c => ({ name: c.name, type: c.type })), rows, totalRows, rowGroups: rgs.length, bytesRead: io.ranges.total, notes: [...notes], ...(stopped ? { stopped } : {}) };
}
