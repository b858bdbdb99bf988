import type { ColumnInfo } from '../result';

/** The whole value as text (the grid shows it as text, never as markup). */
export function fullText(v: unknown): string {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString().replace('T00:00:00.000Z', '').replace('.000Z', 'Z');
  if (v instanceof Uint8Array) return `<${v.byteLength} bytes>`;
  if (typeof v === 'object' && v !== null) return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}

type Kind = 'int' | 'float' | 'bool' | 'text';

function kindOf(type: string): Kind {
  const t = type.toLowerCase();
  if (/^(int2|int4|int16|int32|smallint|integer|int8|int64|bigint|serial|oid)$/.test(t)) return 'int';
  if (/^(float4|float8|float32|float64|real|double|double precision|numeric|decimal|number|float)/.test(t)) return 'float';
  if (t === 'bool' || t === 'boolean') return 'bool';
  return 'text';
}

/** A table as Arrow IPC stream bytes, for the result webview (typed columns, compact, no JSON). Integers wider
 *  than 2^53 and values that do not fit the column type are kept as text rather than rounded. */
export async function toArrowIPC(columns: ColumnInfo[], rows: unknown[][]): Promise<Uint8Array> {
  const A = await import('apache-arrow');
  const vectors: Record<string, import('apache-arrow').Vector> = {};
  const names = new Set<string>();
  columns.forEach((c, i) => {
    let name = c.name || `column_${i + 1}`;
    while (names.has(name)) name = `${name}_`;
    names.add(name);
    let kind = kindOf(c.type);
    const values = rows.map(r => r[i]);
    if (kind === 'int' || kind === 'float') {
      const nums = values.map(v => (v === null || v === undefined || v === '' ? null : Number(v)));
      const lossy = values.some((v, j) => nums[j] !== null && (Number.isNaN(nums[j]!) || (kind === 'int' && !Number.isSafeInteger(nums[j]!))));
      if (!lossy) { vectors[name] = A.vectorFromArray(nums, new A.Float64()); return; }
      kind = 'text';
    }
    if (kind === 'bool' && values.every(v => v === null || v === undefined || typeof v === 'boolean')) {
      vectors[name] = A.vectorFromArray(values.map(v => (v ?? null) as boolean | null), new A.Bool());
      return;
    }
    vectors[name] = A.vectorFromArray(values.map(v => (v === null || v === undefined ? null : fullText(v))), new A.Utf8());
  });
  const table = new A.Table(vectors);
  return A.tableToIPC(table, 'stream');
}
