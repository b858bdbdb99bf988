import type { ColumnInfo } from '../result';
import type { RangedSource } from './parquet';

export interface ArrowHead {
  columns: ColumnInfo[];
  rows: unknown[][];
  /** Known for the file format only when every batch was read; undefined otherwise. */
  totalRows?: number;
  batches?: number;
  more: boolean;
  bytesRead: number;
  format: 'file' | 'stream';
}

/** Reads the first rows of an Arrow IPC file (Feather v2) or stream through ranged reads: the footer, then
 *  record batches one by one until it has enough rows. */
export async function readArrowHead(src: RangedSource, o: { nRows: number; columns?: string[] }): Promise<ArrowHead> {
  const A = await import('apache-arrow');
  let bytesRead = 0;
  // apache-arrow reads a FileHandle-like object with random access (it checks for `fd` and `stat`)
  const handle = {
    fd: -1,
    stat: async () => ({ size: src.byteLength }),
    read: async (buf: Uint8Array, off: number, len: number, pos: number) => {
      const n = Math.max(0, Math.min(len, src.byteLength - pos));
      if (n) buf.set(new Uint8Array(await src.read(pos, pos + n)), off);
      bytesRead += n;
      return { bytesRead: n, buffer: buf };
    },
    close: async () => undefined,
  };
  const reader = await A.RecordBatchReader.from(handle as unknown as import('node:fs/promises').FileHandle) as import('apache-arrow').RecordBatchReader;
  await reader.open();
  if (!reader.schema) throw new Error('not an Arrow IPC file or stream (no schema found)');
  const isFile = reader.isFile();
  const fields = reader.schema.fields;
  const all = fields.map(f => ({ name: f.name, type: arrowType(String(f.type)) }));
  let idx = all.map((_, i) => i);
  if (o.columns) {
    const missing = o.columns.filter(c => !all.some(a => a.name === c));
    if (missing.length) throw new Error(`unknown column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the file has ${all.map(a => a.name).join(', ')}`);
    idx = o.columns.map(c => all.findIndex(a => a.name === c));
  }
  const rows: unknown[][] = [];
  const batches = isFile ? (reader as unknown as { numRecordBatches: number }).numRecordBatches : undefined;
  let seen = 0;
  let batchNo = 0;
  let more = false;
  let finished = true;
  for await (const batch of reader as AsyncIterable<import('apache-arrow').RecordBatch>) {
    batchNo++;
    seen += batch.numRows;
    const cols = idx.map(i => batch.getChildAt(i));
    for (let r = 0; r < batch.numRows && rows.length < o.nRows; r++) rows.push(cols.map((c, j) => cell(c?.get(r), all[idx[j]].type)));
    if (rows.length >= o.nRows) {
      finished = false;
      // more rows exist if this batch had more, or (file format) batches remain; a stream cannot tell, so say more
      more = seen > rows.length || (batches !== undefined ? batchNo < batches : true);
      break;
    }
  }
  try { await reader.cancel(); } catch { /* nothing left to release */ }
  return { columns: idx.map(i => all[i]), rows, totalRows: finished || !more ? seen : undefined, batches, more, bytesRead, format: isFile ? 'file' : 'stream' };
}

function arrowType(t: string): string {
  if (/^Dictionary<.*Utf8>$/.test(t) || t === 'Utf8' || t === 'LargeUtf8') return 'string';
  if (t.startsWith('Timestamp')) return 'timestamp';
  if (t.startsWith('Date')) return 'date';
  return t.toLowerCase();
}

function cell(v: unknown, type: string): unknown {
  if (v === null || v === undefined) return null;
  if ((type === 'timestamp' || type === 'date') && typeof v === 'number') return new Date(v).toISOString().replace(/T00:00:00\.000Z$/, '');
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (typeof v === 'object') return JSON.stringify((v as { toJSON?: () => unknown }).toJSON?.() ?? v, (_k, x) => typeof x === 'bigint' ? x.toString() : x);
  return v;
}
