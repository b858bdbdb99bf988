import type { ColumnInfo } from '../result';

export interface RangedSource {
  byteLength: number;
  /** Reads [start, end) */
  read(start: number, end: number): Promise<ArrayBuffer>;
}

export interface ParquetHead {
  columns: ColumnInfo[];
  rows: unknown[][];
  totalRows: number;
  rowGroups: number;
  bytesRead: number;
}

/** Reads the footer and only the row groups that hold the first `nRows` rows, through a ranged reader. */
export async function readParquetHead(src: RangedSource, o: { nRows: number; columns?: string[] }): Promise<ParquetHead> {
  const { parquetMetadataAsync, parquetReadObjects, parquetSchema } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  let bytesRead = 0;
  const file = {
    byteLength: src.byteLength,
    slice: async (start: number, end?: number) => {
      const e = end ?? src.byteLength;
      // explicit offsets always (some S3-compatible stores get suffix ranges wrong)
      const s = start < 0 ? Math.max(0, src.byteLength + start) : start;
      bytesRead += e - s;
      return src.read(s, e);
    },
  };
  const metadata = await parquetMetadataAsync(file, { initialFetchSize: Math.min(64 * 1024, src.byteLength) });
  const schema = parquetSchema(metadata);
  const all = schema.children.map(c => ({ name: c.element.name, type: typeName(c.element as unknown as Record<string, unknown>) }));
  let columns = all;
  if (o.columns) {
    const missing = o.columns.filter(c => !all.some(a => a.name === c));
    if (missing.length) throw new Error(`unknown column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the file has ${all.map(a => a.name).join(', ')}`);
    columns = o.columns.map(c => all.find(a => a.name === c)!);
  }
  const totalRows = Number(metadata.num_rows);
  const rowEnd = Math.min(totalRows, o.nRows);
  const objects = rowEnd === 0 ? [] : await parquetReadObjects({ file, metadata, columns: columns.map(c => c.name), rowStart: 0, rowEnd, compressors });
  const rows = objects.slice(0, rowEnd).map(r => columns.map(c => r[c.name]));
  return { columns, rows, totalRows, rowGroups: metadata.row_groups.length, bytesRead };
}

function typeName(el: Record<string, unknown>): string {
  const logical = el.logical_type as { type?: string } | undefined;
  const t = (logical?.type ?? el.converted_type ?? el.type ?? 'group') as string;
  const names: Record<string, string> = { UTF8: 'string', STRING: 'string', BYTE_ARRAY: 'binary', TIMESTAMP_MILLIS: 'timestamp', TIMESTAMP_MICROS: 'timestamp' };
  if (names[t.toUpperCase()]) return names[t.toUpperCase()];
  if (logical?.type) return logical.type.toLowerCase();
  return String(el.type ?? 'group').toLowerCase();
}
