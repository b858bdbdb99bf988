import { z } from 'zod';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { defineTool, type ToolContext } from '../tool';
import { filePath, notYet } from './common';
import { ToolError, type ColumnInfo, type ToolResult } from '../result';
import { PathPolicy, fmtBytes, isInside } from '../storage/paths';
import { readCsvHead } from '../formats/csv';
import { readParquetHead } from '../formats/parquet';
import { plural } from '../formats/table';
import { tableResult } from './db';

function policy(ctx: ToolContext): PathPolicy {
  return new PathPolicy(ctx.config.allowedPaths, ctx.config.limits.maxFileBytes);
}

function localOnly(p: string): void {
  if (/^s3:\/\//i.test(p)) notYet('S3 storage (s3:// paths)');
}

const BINARY_HINT: Record<string, string> = { '.parquet': 'read_parquet', '.csv': 'read_csv', '.tsv': 'read_csv', '.arrow': 'read_parquet', '.feather': 'read_parquet' };

function looksBinary(buf: Buffer): boolean {
  const n = Math.min(buf.length, 8192);
  for (let i = 0; i < n; i++) if (buf[i] === 0) return true;
  return false;
}

function formatError(e: unknown, file: string, what: string): ToolError {
  if (e instanceof ToolError) return e;
  return new ToolError(`Could not read ${file} as ${what}: ${(e as Error).message}.`);
}

function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`, 'i');
}

const columns = z.array(z.string().min(1).max(1000)).min(1).max(1000).optional().describe('Only these columns.');
const nRows = z.number().int().positive().max(1_000_000).optional().describe('Rows to read from the start (default 100).');

export const readFile = defineTool({
  name: 'read_file',
  title: 'Read a text file',
  description: 'Reads a text file (local or s3://) inside the allowed roots. Use offset and length (in lines) to page '
    + 'through large files. Binary formats get an error naming the right tool (read_csv, read_parquet).',
  input: z.strictObject({
    file_path: filePath,
    offset: z.number().int().min(0).optional().describe('First line to return, 0-based (default 0).'),
    length: z.number().int().positive().max(100_000).optional().describe('Lines to return (default 2,000).'),
  }),
  capability: 'files.read',
  readOnly: true,
  summary: i => `Reading ${i.file_path}`,
  handler: async (i, ctx) => {
    localOnly(i.file_path);
    const f = await policy(ctx).openForRead(i.file_path);
    try {
      const buf = await f.handle.readFile();
      const ext = path.extname(f.path).toLowerCase();
      if (looksBinary(buf) || ext === '.parquet') {
        throw new ToolError(`${i.file_path} is a binary file (${fmtBytes(f.size)}). ${BINARY_HINT[ext] ? `Use ${BINARY_HINT[ext]} for it.` : 'Use read_csv or read_parquet for data files, or execute_code to inspect it.'}`);
      }
      const lines = buf.toString('utf8').split(/\r?\n/);
      if (lines[lines.length - 1] === '') lines.pop();
      const offset = i.offset ?? 0;
      const length = i.length ?? 2000;
      let chunk = lines.slice(offset, offset + length);
      let text = chunk.join('\n');
      const CAP = 20_000;
      let cut = false;
      if (text.length > CAP) { text = text.slice(0, CAP); chunk = text.split('\n'); cut = true; }
      const end = offset + chunk.length;
      const header = `${f.path}: ${plural(lines.length, 'line')}, ${fmtBytes(f.size)}. Lines ${offset + 1}-${end}${end < lines.length ? ` (more: continue with offset ${end})` : ' (to the end)'}${cut ? '; cut at 20,000 characters' : ''}.`;
      return { text: `${header}\n${text}`, parts: [{ kind: 'file', path: f.path, bytes: f.size }], metrics: { bytes: buf.length } };
    } finally { await f.handle.close(); }
  },
});

export const readCsv = defineTool({
  name: 'read_csv',
  title: 'Read a CSV file',
  description: 'Reads the first rows of a CSV or TSV file (local or s3://) with the delimiter, header and column '
    + 'types inferred. Reads only what it returns, so a huge file costs the same as a small one.',
  input: z.strictObject({ file_path: filePath, n_rows: nRows, columns }),
  capability: 'files.read',
  readOnly: true,
  summary: i => `Reading CSV ${i.file_path}`,
  handler: async (i, ctx) => {
    localOnly(i.file_path);
    const f = await policy(ctx).openStream(i.file_path);
    try {
      const n = i.n_rows ?? 100;
      const head = await readCsvHead(f.handle.createReadStream({ autoClose: false, highWaterMark: 64 * 1024 }), { nRows: n, columns: i.columns })
        .catch(e => { throw formatError(e, i.file_path, 'CSV'); });
      const d = head.delimiter === '\t' ? 'tab' : `"${head.delimiter}"`;
      const total = head.more ? `more than ${plural(head.rows.length, 'row')}` : plural(head.rows.length, 'row');
      const r = tableResult({ title: path.basename(f.path), columns: head.columns, rows: head.rows, truncated: head.more, totalRows: head.more ? undefined : head.rows.length,
        header: `${f.path} (${fmtBytes(f.size)}): ${total}${head.more ? ` (first ${head.rows.length} read; pass n_rows for more)` : ''}, delimiter ${d}, ${head.hasHeader ? 'header row' : 'no header (columns named column_N)'}.` });
      r.metrics = { rows: head.rows.length, bytes: head.bytesRead };
      return r;
    } finally { await f.handle.close(); }
  },
});

export const readParquet = defineTool({
  name: 'read_parquet',
  title: 'Read a Parquet file',
  description: 'Reads the schema, row count and first rows of a Parquet file (local or s3://), fetching only the '
    + 'footer and the row groups it needs.',
  input: z.strictObject({ file_path: filePath, n_rows: nRows, columns }),
  capability: 'files.read',
  readOnly: true,
  summary: i => `Reading Parquet ${i.file_path}`,
  handler: async (i, ctx) => {
    localOnly(i.file_path);
    const f = await policy(ctx).openStream(i.file_path);
    try {
      const src = { byteLength: f.size, read: async (start: number, end: number) => {
        const b = Buffer.alloc(end - start);
        await f.handle.read(b, 0, end - start, start);
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      } };
      const head = await readParquetHead(src, { nRows: i.n_rows ?? 100, columns: i.columns }).catch(e => { throw formatError(e, i.file_path, 'Parquet'); });
      const r = tableResult({ title: path.basename(f.path), columns: head.columns, rows: head.rows, truncated: head.rows.length < head.totalRows, totalRows: head.totalRows,
        header: `${f.path} (${fmtBytes(f.size)}, ${plural(head.rowGroups, 'row group')}): ${plural(head.totalRows, 'row')}; first ${head.rows.length.toLocaleString('en-US')} read (${fmtBytes(head.bytesRead)} of the file).` });
      r.metrics = { rows: head.rows.length, bytes: head.bytesRead };
      return r;
    } finally { await f.handle.close(); }
  },
});

export const listFiles = defineTool({
  name: 'list_files',
  title: 'List files',
  description: 'Lists files and folders (local or an s3:// prefix) inside the allowed roots with sizes and '
    + 'modification times. Bounded in count and depth. Omit path to list the allowed roots.',
  input: z.strictObject({
    path: filePath.optional(),
    pattern: z.string().min(1).max(200).optional().describe('Glob on file names, e.g. "*.csv".'),
    recursive: z.boolean().optional().describe('Descend into folders (default false).'),
  }),
  capability: 'files.read',
  readOnly: true,
  summary: i => `Listing ${i.path ?? 'the data roots'}`,
  handler: async (i, ctx) => {
    if (i.path) localOnly(i.path);
    const pol = policy(ctx);
    const MAX_ENTRIES = 1000;
    const MAX_DEPTH = 8;
    const match = i.pattern ? globToRegExp(i.pattern) : undefined;
    const starts = i.path ? [await pol.resolveExisting(i.path)] : pol.realRoots();
    const rows: unknown[][] = [];
    let more = false;
    const walk = async (dir: string, depth: number): Promise<void> => {
      let entries;
      try { entries = await fsp.readdir(dir, { withFileTypes: true }); } catch (e) { throw new ToolError(`Cannot list ${dir}: ${(e as Error).message}`); }
      entries.sort((a, b) => a.name.localeCompare(b.name));
      for (const e of entries) {
        if (rows.length >= MAX_ENTRIES) { more = true; return; }
        const p = path.join(dir, e.name);
        let st;
        try { st = await fsp.lstat(p); } catch { continue; }
        const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'link' : 'other';
        if (!match || match.test(e.name)) rows.push([p, kind, kind === 'file' ? st.size : null, new Date(st.mtimeMs).toISOString()]);
        if (kind === 'dir' && i.recursive && depth < MAX_DEPTH && pol.realRoots().some(r => isInside(r, p))) await walk(p, depth + 1);
      }
    };
    for (const s0 of starts) {
      const st = await fsp.stat(s0);
      if (!st.isDirectory()) { rows.push([s0, 'file', st.size, new Date(st.mtimeMs).toISOString()]); continue; }
      await walk(s0, 0);
    }
    const columns: ColumnInfo[] = [{ name: 'path', type: 'text' }, { name: 'kind', type: 'text' }, { name: 'bytes', type: 'int8' }, { name: 'modified', type: 'timestamp' }];
    const lines = rows.map(r => `${r[0]}${r[1] === 'dir' ? '/' : ''}${r[2] !== null ? `  ${fmtBytes(Number(r[2]))}` : ''}  ${String(r[3]).slice(0, 16)}`);
    let text = [`${plural(rows.length, 'entry', 'entries')}${more ? ` (stopped at ${MAX_ENTRIES}; narrow with path or pattern)` : ''}:`, ...lines].join('\n');
    if (text.length > 12_000) text = `${text.slice(0, 12_000)}\n… (cut; narrow with path or pattern)`;
    return { text, parts: [{ kind: 'table', title: 'Files', columns, rows, truncated: more }], metrics: { rows: rows.length } };
  },
});

export const writeFile = defineTool({
  name: 'write_file',
  title: 'Write a file',
  description: 'Writes a file (local or s3://) inside the allowed roots, atomically: the old file stays whole if '
    + 'anything fails. Content is text, or bytes in base64 with encoding "base64". Creates parent folders inside a root.',
  input: z.strictObject({
    file_path: filePath,
    content: z.string().max(150_000_000).describe('Text, or base64 when encoding is "base64".'),
    encoding: z.enum(['utf8', 'base64']).optional().describe('Default "utf8".'),
  }),
  capability: 'files.write',
  readOnly: false,
  confirm: i => ({ title: 'Write this file?', message: `Write ${i.content.length.toLocaleString('en-US')} ${i.encoding === 'base64' ? 'base64 characters' : 'characters'} to \`${i.file_path}\`` }),
  summary: i => `Writing ${i.file_path}`,
  handler: async (i, ctx) => {
    localOnly(i.file_path);
    let data: Buffer;
    if (i.encoding === 'base64') {
      if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(i.content)) throw new ToolError('content is not valid base64 (encoding "base64" was given).');
      data = Buffer.from(i.content, 'base64');
    } else data = Buffer.from(i.content, 'utf8');
    const written = await policy(ctx).writeAtomic(i.file_path, data);
    return { text: `Wrote ${fmtBytes(data.byteLength)} to ${written}.`, parts: [{ kind: 'file', path: written, bytes: data.byteLength }], metrics: { bytes: data.byteLength } };
  },
});
