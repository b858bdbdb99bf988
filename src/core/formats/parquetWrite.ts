import type { ColumnInfo } from '../result';

type Basic = 'BOOLEAN' | 'INT32' | 'INT64' | 'DOUBLE' | 'STRING' | 'JSON' | 'TIMESTAMP';

function basicType(t: string): Basic {
  const x = t.toLowerCase();
  if (x === 'boolean' || x === 'bool') return 'BOOLEAN';
  if (x === 'smallint' || x === 'integer' || x === 'int2' || x === 'int4' || x === 'int32' || x === 'int16') return 'INT32';
  if (x === 'bigint' || x === 'int8' || x === 'int64') return 'INT64';
  if (/^(real|double precision|float4|float8|numeric|decimal|float|float64|double|number)/.test(x)) return 'DOUBLE';
  if (/^timestamp/.test(x)) return 'TIMESTAMP';
  if (x === 'json' || x === 'jsonb') return 'JSON';
  return 'STRING';
}

function convert(v: unknown, t: Basic): unknown {
  if (v === null || v === undefined) return null;
  switch (t) {
    case 'BOOLEAN': return Boolean(v);
    case 'INT32': return Number(v);
    case 'INT64': return typeof v === 'bigint' ? v : BigInt(String(v));
    case 'DOUBLE': return Number(v);
    case 'TIMESTAMP': return v instanceof Date ? v : new Date(String(v));
    case 'JSON': return typeof v === 'string' ? v : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
    default: return v instanceof Date ? v.toISOString().replace('T00:00:00.000Z', '') : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}

/** A table as Parquet bytes (hyparquet-writer), with column types mapped from database or inferred types. */
export async function toParquet(columns: ColumnInfo[], rows: unknown[][], rowGroupSize = 100_000): Promise<Uint8Array> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const types = columns.map(c => basicType(c.type));
  const columnData = columns.map((c, i) => ({ name: c.name, type: types[i], data: rows.map(r => convert(r[i], types[i])) }));
  // hyparquet-writer's column typing is stricter than ours; the cast keeps this module free of its internals
  const buf = parquetWriteBuffer({ columnData: columnData as never, rowGroupSize });
  return new Uint8Array(buf);
}
