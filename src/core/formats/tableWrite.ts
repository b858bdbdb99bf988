/** Writing a whole table to a file in bounded memory (issue 15): the rows come in chunks (a stored result's scan)
 *  and the file's bytes go out as they are made, so neither the rows nor the file are held whole. */
import type { ColumnInfo } from '../result';
import { CsvNoteScan, toCsv } from './csvWrite';
import { writeParquetStream, type ByteSink, type ParquetStreamOptions, type RowSource } from './parquetWrite';

export type { ByteSink, RowSource };

/** Rows turned into CSV text at a time (a chunk of rows held whole is cut into slices of this many). */
const CSV_SLICE_ROWS = 10_000;

/** Writes `source` (called once for CSV, twice for Parquet: it must give the same rows each time) as CSV or Parquet
 *  into `write`. Returns what the file says beyond the values (notes for the result text) and the rows written. */
export async function writeTable(format: 'csv' | 'parquet', columns: ColumnInfo[], source: RowSource, write: ByteSink, opts?: ParquetStreamOptions): Promise<{ notes: string[]; rows: number }> {
  if (format === 'parquet') {
    const r = await writeParquetStream(columns, source, write, opts);
    return { notes: r.notes, rows: r.rows };
  }
  const names = columns.map(c => c.name), types = columns.map(c => c.type);
  const header = toCsv(names, [], types);
  await write(Buffer.from(header));
  const scan = new CsvNoteScan(columns);
  let rows = 0;
  for await (const chunk of source()) {
    for (let i = 0; i < chunk.length; i += CSV_SLICE_ROWS) {
      const slice = chunk.length <= CSV_SLICE_ROWS ? chunk : chunk.slice(i, i + CSV_SLICE_ROWS);
      if (!slice.length) continue;
      scan.add(slice);
      rows += slice.length;
      await write(Buffer.from(toCsv(names, slice, types).slice(header.length)));
    }
  }
  return { notes: scan.notes(), rows };
}
