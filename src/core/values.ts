/** The one value model: how every source hands over values, and how they become text, JSON and files.
 *
 * In memory a row is `unknown[]` and a column's `type` names its logical type. Values:
 * - NULL → null; boolean → boolean; 8/16/32-bit integers → number; 64-bit integers → bigint (the whole column);
 *   unsigned integers ("uint8".."uint64") likewise: uint8/16/32 → number, uint64 → bigint, never negative (0 to 2^w-1);
 *   floats → number (NaN and ±Infinity allowed).
 * - decimal/numeric → string with its exact digits and scale ("-123.450").
 * - date → "YYYY-MM-DD"; time → "HH:MM:SS[.f]"; timetz → "HH:MM:SS[.f]+HH:MM".
 * - timestamp without zone → "YYYY-MM-DDTHH:MM:SS[.f]" (never converted); with zone / UTC-adjusted →
 *   "YYYY-MM-DDTHH:MM:SS[.f]Z" (always UTC). The fraction keeps every digit the source has (µs, ns), trimmed.
 * - interval → ISO 8601 duration ("P1Y2M3DT4H5M6.5S", zero "PT0S").
 * - json/jsonb → the JSON text itself (a string: big numbers, duplicate keys and any depth survive).
 * - arrays/lists → JS arrays; structs → plain objects; maps → arrays of [key, value].
 * - binary → Uint8Array; as text and JSON it is PostgreSQL's hex form "\x0a1b…".
 * - uuid, enum, text → string.
 * Nothing here reads the host's time zone or locale. */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Bytes as PostgreSQL's hex text: "\x" followed by two lowercase hex digits a byte. */
export function bytesToHex(b: Uint8Array): string {
  let s = '\\x';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
}

/** "\x0a1b" (or "0a1b") back to bytes; undefined if it is not hex. */
export function hexToBytes(s: string): Uint8Array | undefined {
  const h = s.startsWith('\\x') ? s.slice(2) : s;
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) return undefined;
  return Uint8Array.from(Buffer.from(h, 'hex'));
}

/** A JS Date (from a source that still produces them) in the model's form, computed in UTC: a date column gets
 *  "YYYY-MM-DD", a zoneless timestamp "YYYY-MM-DDTHH:MM:SS[.fff]", anything else the UTC form with "Z". */
export function dateText(d: Date, type?: string): string {
  if (Number.isNaN(d.getTime())) return 'Invalid Date';
  const iso = d.toISOString().replace(/\.000Z$/, 'Z').replace(/(\.\d*?)0+Z$/, '$1Z');
  const k = type ? logicalType(type).kind : 'timestamptz';
  if (k === 'date') return iso.slice(0, iso.indexOf('T'));
  if (k === 'timestamp') return iso.slice(0, -1);
  return iso;
}

function numberText(n: number): string {
  return Object.is(n, -0) ? '-0' : String(n);
}

/** A nested value (array, struct) as JSON text, exactly: 64-bit integers as bare digits, bytes as "\x…" strings,
 *  NaN/±Infinity as strings. */
export function jsonText(v: unknown, type?: string): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'bigint': return v.toString();
    case 'number': return Number.isFinite(v) ? numberText(v) : JSON.stringify(String(v));
    case 'boolean': return v ? 'true' : 'false';
    case 'string': return JSON.stringify(v);
    case 'object': break;
    default: return JSON.stringify(String(v));
  }
  if (v instanceof Date) return JSON.stringify(dateText(v, type));
  if (v instanceof Uint8Array) return JSON.stringify(bytesToHex(v));
  if (Array.isArray(v)) return `[${v.map(x => jsonText(x)).join(',')}]`;
  if (v instanceof Map) return `[${[...v].map(([k, x]) => `[${jsonText(k)},${jsonText(x)}]`).join(',')}]`;
  return `{${Object.entries(v as object).map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(',')}}`;
}

/** The whole value as exact text (CSV fields, the grid, text columns of written files). NULL is the caller's. */
export function valueText(v: unknown, type?: string): string {
  if (v === null || v === undefined) return '';
  switch (typeof v) {
    case 'string': return v;
    case 'number': return numberText(v);
    case 'bigint': return v.toString();
    case 'boolean': return v ? 'true' : 'false';
    case 'object': break;
    default: return String(v);
  }
  if (v instanceof Date) return dateText(v, type);
  if (v instanceof Uint8Array) return bytesToHex(v);
  return jsonText(v, type);
}

/** A value as the model sees it: short, unambiguous, one line. */
export function cellText(v: unknown, maxCell = 120, type?: string): string {
  let s = v === null || v === undefined ? 'NULL' : valueText(v, type);
  // escape only what can be shown: a 12 MB value costs no more than a short one
  if (s.length > maxCell * 2 + 16) s = s.slice(0, maxCell * 2 + 16);
  s = s.replace(/\r?\n/g, '\\n').replace(/\t/g, '\\t').replace(/\|/g, '\\|');
  return s.length > maxCell ? `${s.slice(0, maxCell - 1)}…` : s;
}

/** A value for JSON (MCP structuredContent): bigint → number when safe, else its digits as a string;
 *  NaN/±Infinity → "NaN"/"Infinity"/"-Infinity"; bytes → "\x…"; everything else as in memory. */
export function toJsonValue(v: unknown, type?: string): Json {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'bigint': return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
    case 'number': return Number.isFinite(v) ? v : String(v);
    case 'string': case 'boolean': return v;
    case 'object': break;
    default: return String(v);
  }
  if (v instanceof Date) return dateText(v, type);
  if (v instanceof Uint8Array) return bytesToHex(v);
  if (Array.isArray(v)) return v.map(x => toJsonValue(x));
  if (v instanceof Map) return [...v].map(([k, x]) => [toJsonValue(k), toJsonValue(x)]);
  const out: Record<string, Json> = {};
  for (const [k, x] of Object.entries(v as object)) out[k] = toJsonValue(x);
  return out;
}

/** Rows for JSON, column types used only to place JS Dates from older sources. */
export function rowsToJson(rows: unknown[][], columns?: { type: string }[]): Json[][] {
  return rows.map(r => r.map((v, i) => toJsonValue(v, columns?.[i]?.type)));
}

export type LogicalKind =
  | 'bool' | 'int32' | 'int64' | 'uint64' | 'float32' | 'float64' | 'decimal'
  | 'date' | 'time' | 'timetz' | 'timestamp' | 'timestamptz' | 'interval'
  | 'json' | 'bytes' | 'uuid' | 'text' | 'list' | 'other';

export interface LogicalType {
  kind: LogicalKind; precision?: number; scale?: number; element?: LogicalType;
  /** An unsigned integer's width (uint8 → 8 … uint64 → 64): its values are 0 to 2^w-1 (kind int32 for 8/16, int64
   *  for 32, uint64 for 64: the signed kind that holds every value). */
  unsigned?: 8 | 16 | 32 | 64;
}

/** Unsigned integer type names and their widths: Arrow/Parquet, DuckDB, and PostgreSQL's oid (an unsigned 4-byte integer). */
const UNSIGNED: Record<string, 8 | 16 | 32 | 64> = { uint8: 8, utinyint: 8, uint16: 16, usmallint: 16, uint32: 32, uinteger: 32, oid: 32, uint64: 64, ubigint: 64 };

/** What a column type name means, whatever the source spelled it: PostgreSQL ("timestamp with time zone",
 *  "numeric(15,2)", "integer[]", "int8"), Arrow/Parquet/DuckDB ("int64", "decimal(18,3)", "timestamp[us, UTC]",
 *  "list<int32>"). "int8" is PostgreSQL's 64-bit integer. */
export function logicalType(type: string): LogicalType {
  const t = type.trim().toLowerCase();
  if (t.endsWith('[]')) return { kind: 'list', element: logicalType(t.slice(0, -2)) };
  const list = /^(?:large_)?list<(?:item:\s*)?(.*)>$/.exec(t);
  if (list) return { kind: 'list', element: logicalType(list[1]) };
  const dec = /^(?:numeric|decimal)(?:\s*\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\))?$/.exec(t);
  if (dec) return { kind: 'decimal', precision: dec[1] ? Number(dec[1]) : undefined, scale: dec[1] ? Number(dec[2] ?? 0) : undefined };
  if (/^(bool|boolean)$/.test(t)) return { kind: 'bool' };
  const u = Object.hasOwn(UNSIGNED, t) ? UNSIGNED[t] : undefined; // (not a name on Object.prototype)
  if (u) return { kind: u <= 16 ? 'int32' : u === 32 ? 'int64' : 'uint64', unsigned: u };
  if (/^(smallint|integer|int|int2|int4|int16|int32|tinyint|serial|smallserial)$/.test(t)) return { kind: 'int32' };
  if (/^(bigint|int8|int64|bigserial)$/.test(t)) return { kind: 'int64' };
  if (/^(real|float4|float32|float)$/.test(t)) return { kind: 'float32' };
  if (/^(double precision|double|float8|float64)$/.test(t)) return { kind: 'float64' };
  if (/^(date|date32(\[day\])?|date64(\[ms\])?)$/.test(t)) return { kind: 'date' };
  if (/^datetime64\[\w+,\s*[^\]]+\]$/.test(t)) return { kind: 'timestamptz' }; // pandas, with a zone
  if (/^datetime64/.test(t)) return { kind: 'timestamp' };
  if (/^time(\(\d\))? with time zone$|^timetz/.test(t)) return { kind: 'timetz' };
  if (/^time(\(\d\))?( without time zone)?$|^time(32|64)/.test(t)) return { kind: 'time' };
  if (/^timestamp(\(\d\))? with time zone$|^timestamptz|^timestamp\[\w+,\s*[^\]]+\]|^timestamp with time zone/.test(t)) return { kind: 'timestamptz' };
  if (/^timestamp/.test(t)) return { kind: 'timestamp' };
  if (/^interval/.test(t)) return { kind: 'interval' };
  if (t === 'json' || t === 'jsonb') return { kind: 'json' };
  if (/^(bytea|binary|large_binary|blob|varbinary|byte_array)$/.test(t) || t.startsWith('fixed_size_binary')) return { kind: 'bytes' };
  if (t === 'uuid') return { kind: 'uuid' };
  if (/^(text|string|utf8|large_utf8|varchar|character varying|character|char|bpchar|name|"char"|citext)/.test(t)) return { kind: 'text' };
  return { kind: 'other' };
}

/** Whole days since 1970-01-01 for "YYYY-MM-DD" (proleptic Gregorian, years 1-9999), or undefined. */
export function daysFromDate(s: string): number | undefined {
  const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(s);
  if (!m) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (d.getUTCDate() !== Number(m[3])) return undefined;
  return Math.round(d.getTime() / 86_400_000);
}

/** Microseconds since midnight for "HH:MM:SS[.ffffff]", or undefined. */
export function microsFromTime(s: string): bigint | undefined {
  const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?$/.exec(s);
  if (!m) return undefined;
  return (BigInt(m[1]) * 3600n + BigInt(m[2]) * 60n + BigInt(m[3])) * 1_000_000n + BigInt((m[4] ?? '').padEnd(6, '0'));
}

/** Units since the epoch for "YYYY-MM-DDTHH:MM:SS[.f][Z]" (µs, or ns when `nanos`), or undefined. */
export function epochFromTimestamp(s: string, nanos = false): bigint | undefined {
  const m = /^(\d{4}-\d\d-\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z?$/.exec(s);
  if (!m) return undefined;
  const days = daysFromDate(m[1]);
  if (days === undefined) return undefined;
  const digits = nanos ? 9 : 6;
  if ((m[5] ?? '').length > digits) return undefined;
  const unit = nanos ? 1_000_000_000n : 1_000_000n;
  return (BigInt(days) * 86400n + BigInt(m[2]) * 3600n + BigInt(m[3]) * 60n + BigInt(m[4])) * unit + BigInt((m[5] ?? '').padEnd(digits, '0'));
}
