import type { ColumnInfo } from '../result';
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

/** How one logical type is stored, given every (non-null, flattened) value of the column; undefined = as text. */
function leafFor(lt: LogicalType, values: unknown[]): Leaf | undefined {
  switch (lt.kind) {
    case 'bool':
      return { element: { type: 'BOOLEAN' }, conv: v => (typeof v === 'boolean' ? v : FAIL), what: 'BOOLEAN' };
    case 'int32':
      return { element: { type: 'INT32' }, conv: v => { const n = typeof v === 'bigint' ? Number(v) : v; return typeof n === 'number' && Number.isInteger(n) && n >= -2147483648 && n <= 2147483647 ? n : FAIL; }, what: 'INT32' };
    case 'int64':
      return { element: { type: 'INT64' }, conv: v => { try { const b = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : FAIL; return typeof b === 'bigint' && b >= -(2n ** 63n) && b < 2n ** 63n ? b : FAIL; } catch { return FAIL; } }, what: 'INT64' };
    case 'uint64':
      return { element: { type: 'INT64', converted_type: 'UINT_64', logical_type: { type: 'INTEGER', bitWidth: 64, isSigned: false } },
        conv: v => { const b = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : FAIL; return typeof b === 'bigint' && b >= 0n && b < 2n ** 64n ? b : FAIL; }, what: 'UINT64' };
    case 'float32':
      return { element: { type: 'FLOAT' }, conv: v => (typeof v === 'number' ? v : FAIL), what: 'FLOAT' };
    case 'float64':
      return { element: { type: 'DOUBLE' }, conv: v => (typeof v === 'number' ? v : FAIL), what: 'DOUBLE' };
    case 'decimal': {
      let scale = 0; let intDigits = 1;
      for (const v of values) {
        const d = decimalDigits(v);
        if (!d) return undefined; // NaN, Infinity: no DECIMAL holds them
        scale = Math.max(scale, d.frac.length);
        intDigits = Math.max(intDigits, d.int.length);
      }
      if (lt.precision !== undefined && lt.scale !== undefined && lt.scale >= scale && lt.precision - lt.scale >= intDigits && lt.precision <= 38) {
        scale = lt.scale; intDigits = lt.precision - lt.scale;
      }
      const precision = intDigits + scale;
      if (precision > 38) return undefined;
      const physical = precision <= 18 ? { type: 'INT64' } : { type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16 };
      return {
        element: { ...physical, converted_type: 'DECIMAL', precision, scale, logical_type: { type: 'DECIMAL', precision, scale } },
        conv: v => { const d = decimalDigits(v); return d ? BigInt(`${d.sign}${d.int || '0'}${d.frac.padEnd(scale, '0')}`) : FAIL; },
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
      const nanos = values.some(v => typeof v === 'string' && /\.\d{7,}/.test(v));
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

interface ColumnPlan { elements: Element[]; data: unknown[]; note?: string }

function planColumn(name: string, type: string, values: unknown[]): ColumnPlan {
  const lt = logicalType(type);
  const asText = (note?: string): ColumnPlan => ({ elements: [{ name, repetition_type: 'OPTIONAL', ...TEXT_LEAF.element }], data: values.map(v => (v === null || v === undefined ? null : valueText(v, type))), note });
  if (lt.kind === 'list') {
    const el = lt.element ?? { kind: 'other' };
    const lists = values.filter(v => v !== null && v !== undefined);
    if (!lists.every(Array.isArray)) return asText(`column ${name} (${type}) written as text: not every value is a list`);
    const flat = (lists as unknown[][]).flat();
    if (flat.some(x => Array.isArray(x))) return asText(`column ${name} (${type}) written as JSON text: multi-dimensional arrays have no Parquet list form here`);
    const leaf = AS_TEXT[el.kind] || el.kind === 'text' || el.kind === 'other' ? TEXT_LEAF : leafFor(el, flat.filter(x => x !== null && x !== undefined));
    const data = leaf && values.map(v => (v === null || v === undefined ? null : convertAll(v as unknown[], leaf.conv)));
    if (!leaf || !data || data.some((d, i) => d === undefined && values[i] !== null && values[i] !== undefined)) {
      return asText(`column ${name} (${type}) written as JSON text: its elements do not fit a Parquet type exactly`);
    }
    return {
      elements: [
        { name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST', logical_type: { type: 'LIST' } },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', repetition_type: 'OPTIONAL', ...leaf.element },
      ],
      data,
      note: AS_TEXT[el.kind] ? `column ${name} (${type}): elements written ${AS_TEXT[el.kind]}` : undefined,
    };
  }
  if (AS_TEXT[lt.kind]) return asText(`column ${name} (${type}) written ${AS_TEXT[lt.kind]}`);
  if (lt.kind === 'text' || lt.kind === 'other') return asText();
  const present = values.filter(v => v !== null && v !== undefined);
  const leaf = leafFor(lt, present);
  const data = leaf && convertAll(values, leaf.conv);
  if (!leaf || !data) {
    const bad = leaf ? present.find(v => leaf.conv(v) === FAIL) : present.find(v => !decimalDigits(v));
    return asText(`column ${name} (${type}) written as text: ${bad !== undefined ? `the value ${JSON.stringify(valueText(bad, type)).slice(0, 60)} has no exact` : 'its values have no exact'} ${leaf?.what ?? 'Parquet DECIMAL (at most 38 digits)'} form`);
  }
  return { elements: [{ name, repetition_type: 'OPTIONAL', ...leaf.element }], data };
}

export interface ParquetOutput {
  bytes: Uint8Array;
  /** What was stored in another form than the column's type (for the result text). */
  notes: string[];
}

/** A table as Parquet bytes (hyparquet-writer), each column in the Parquet type of its logical type
 *  (src/core/values.ts): DECIMAL, DATE, TIMESTAMP(µs/ns, UTC or not), TIME, INT64, JSON, UUID, LIST. What has no
 *  exact Parquet form (timetz, interval, NaN in a numeric) is written as text and said in `notes`. */
export async function toParquetFile(columns: ColumnInfo[], rows: unknown[][], rowGroupSize = 100_000): Promise<ParquetOutput> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const names = new Set<string>();
  const notes: string[] = [];
  const plans = columns.map((c, i) => {
    let name = c.name || `column_${i + 1}`;
    while (names.has(name)) name = `${name}_`;
    if (name !== c.name) notes.push(`column ${i + 1} "${c.name}" written as "${name}" (Parquet needs unique, non-empty names)`);
    names.add(name);
    const plan = planColumn(name, c.type, rows.map(r => r[i]));
    if (plan.note) notes.push(plan.note);
    return { name, plan };
  });
  const schema = [{ name: 'root', num_children: plans.length }, ...plans.flatMap(p => p.plan.elements)];
  const columnData = plans.map(p => ({ name: p.name, data: p.plan.data }));
  const buf = parquetWriteBuffer({ schema: schema as never, columnData: columnData as never, rowGroupSize });
  return { bytes: new Uint8Array(buf), notes };
}

/** toParquetFile without the notes. */
export async function toParquet(columns: ColumnInfo[], rows: unknown[][], rowGroupSize = 100_000): Promise<Uint8Array> {
  return (await toParquetFile(columns, rows, rowGroupSize)).bytes;
}
