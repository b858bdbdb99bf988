import type { ColumnInfo } from '../result';
import { logicalType, valueText } from '../values';

/** The whole value as text (the grid shows it as text, never as markup), by the one value model. */
export function fullText(v: unknown, type?: string): string {
  return valueText(v, type);
}

/** A table as Arrow IPC stream bytes, for the result webview (typed columns, compact, no JSON). Numbers stay
 *  Float64 (exact for 8/16/32-bit integers and floats, NaN and ±Infinity included), 64-bit integers Int64 (BigInt),
 *  unsigned integers their own Uint8/16/32/64 (never a sign: 2^64-1 is not -1), booleans Bool; everything else is
 *  the exact text of the value model (dates, timestamps with their fraction and zone, decimals with every digit), so
 *  nothing in the grid depends on the viewer's time zone. A column whose values
 *  do not all have the expected JS type is sent as text rather than converted. */
export async function toArrowIPC(columns: ColumnInfo[], rows: unknown[][]): Promise<Uint8Array> {
  const A = await import('apache-arrow');
  const vectors: Record<string, import('apache-arrow').Vector> = {};
  const names = new Set<string>();
  columns.forEach((c, i) => {
    let name = c.name || `column_${i + 1}`;
    while (names.has(name)) name = `${name}_`;
    names.add(name);
    const lt = logicalType(c.type);
    const kind = lt.kind;
    const values = rows.map(r => (r[i] === undefined ? null : r[i]));
    const all = (ok: (v: unknown) => boolean) => values.every(v => v === null || ok(v));
    const u = lt.unsigned;
    if (u && u < 64 && all(v => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** u)) {
      vectors[name] = A.vectorFromArray(values as (number | null)[], u === 8 ? new A.Uint8() : u === 16 ? new A.Uint16() : new A.Uint32());
    } else if (u === 64 && all(v => (typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v))) && BigInt(v as bigint) >= 0n && BigInt(v as bigint) < 2n ** 64n)) {
      vectors[name] = A.vectorFromArray(values.map(v => (v === null ? null : BigInt(v as bigint))), new A.Uint64());
    } else if ((kind === 'int32' || kind === 'float32' || kind === 'float64') && all(v => typeof v === 'number')) {
      vectors[name] = A.vectorFromArray(values as (number | null)[], new A.Float64());
    } else if (kind === 'int64' && all(v => typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v)))
      && all(v => BigInt(v as bigint) >= -(2n ** 63n) && BigInt(v as bigint) < 2n ** 63n)) {
      vectors[name] = A.vectorFromArray(values.map(v => (v === null ? null : BigInt(v as bigint))), new A.Int64());
    } else if (kind === 'bool' && all(v => typeof v === 'boolean')) {
      vectors[name] = A.vectorFromArray(values as (boolean | null)[], new A.Bool());
    } else {
      vectors[name] = A.vectorFromArray(values.map(v => (v === null ? null : valueText(v, c.type))), new A.Utf8());
    }
  });
  const table = new A.Table(vectors);
  return A.tableToIPC(table, 'stream');
}
