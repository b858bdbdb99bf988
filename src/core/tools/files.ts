import { z } from 'zod';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { defineTool, type ToolContext } from '../tool';
import { ceiling, filePath } from './common';
import { ToolError, type ColumnInfo, type ToolResult } from '../result';
import { PathPolicy, fmtBytes, isInside } from '../storage/paths';
import { readCsvHead } from '../formats/csv';
import { TEXT_ENCODINGS } from '../formats/textDecode';
import { ParquetFileError, readParquetHead } from '../formats/parquet';
import { readArrowHead } from '../formats/arrow';
import { readJsonlHead } from '../formats/jsonl';
import { appendData, openData, s3Store, writeData } from '../storage/data';
import { isS3, parseS3, S3Policy } from '../storage/s3';
import { plural } from '../formats/table';
import { saveTable, tableResult } from './db';
import { budgetStopText } from '../bounds';

function policy(ctx: ToolContext): PathPolicy {
  return new PathPolicy(ctx.config.allowedPaths, ctx.config.limits.maxFileBytes);
}

const LIST_COLUMNS: ColumnInfo[] = [{ name: 'path', type: 'text' }, { name: 'kind', type: 'text' }, { name: 'bytes', type: 'int8' }, { name: 'modified', type: 'timestamp' }];

function listingResult(rows: unknown[][], lines: string[], more: boolean, max: number): ToolResult {
  let text = [`${plural(rows.length, 'entry', 'entries')}${more ? ` (stopped at ${max}; narrow with path or pattern)` : ''}:`, ...lines].join('\n');
  if (text.length > 12_000) text = `${text.slice(0, 12_000)}\n… (cut; narrow with path or pattern)`;
  return { text, parts: [{ kind: 'table', title: 'Files', columns: LIST_COLUMNS, rows, truncated: more }], metrics: { rows: rows.length } };
}

/** S3 "folders" are key prefixes: a path names a prefix (a trailing "/" is implied), listed page by page. */
async function listS3(ctx: ToolContext, url: string, o: { match?: RegExp; recursive: boolean; max: number }): Promise<ToolResult> {
  const store = await s3Store(ctx);
  const asPrefix = url.endsWith('/') || /^s3:\/\/[^/]+$/i.test(url) ? url : `${url}/`;
  const loc = parseS3(asPrefix);
  // the prefix itself must be inside a grant, or be the bucket root / a parent of a granted prefix
  const grants = store.policy.grants.filter(g => g.bucket === loc.bucket);
  const prefix = loc.key;
  const inside = grants.some(g => g.prefix === '' || prefix.startsWith(`${g.prefix}/`));
  if (!inside) {
    const below = grants.filter(g => g.prefix && `${g.prefix}/`.startsWith(prefix));
    if (below.length) throw new ToolError(`Only part of s3://${loc.bucket}/${prefix} is allowed; list ${below.map(g => `s3://${g.bucket}/${g.prefix}/`).join(' or ')} instead.`);
    store.policy.check(url); // throws the standard "outside" message
    throw new ToolError(`s3://${loc.bucket}/${prefix} is outside the allowed S3 locations (${store.policy.describe()}).`);
  }
  const { entries, more } = await store.list(loc, { delimited: !o.recursive, max: o.max });
  const rows: unknown[][] = [];
  const lines: string[] = [];
  for (const e of entries) {
    const name = e.key.replace(/\/$/, '').split('/').pop() ?? e.key;
    if (o.match && !o.match.test(name)) continue;
    const dir = e.size < 0;
    rows.push([`s3://${loc.bucket}/${e.key}`, dir ? 'dir' : 'file', dir ? null : e.size, e.modified ? e.modified.toISOString() : null]);
    lines.push(`s3://${loc.bucket}/${e.key}${dir ? '' : `  ${fmtBytes(e.size)}`}${e.modified ? `  ${e.modified.toISOString().slice(0, 16)}` : ''}`);
  }
  if (!entries.length && !url.endsWith('/')) {
    // maybe the path is an object rather than a prefix
    const obj = await store.head(store.policy.check(url)).catch(() => undefined);
    if (obj) { rows.push([url, 'file', obj.size, obj.modified?.toISOString() ?? null]); lines.push(`${url}  ${fmtBytes(obj.size)}`); }
  }
  const r = listingResult(rows, lines, more, o.max);
  r.metrics = { rows: rows.length };
  return r;
}

const BINARY_HINT: Record<string, string> = { '.parquet': 'read_parquet', '.csv': 'read_csv', '.tsv': 'read_csv', '.arrow': 'read_parquet', '.feather': 'read_parquet' };

function binaryError(file: string, size: number, ext: string): ToolError {
  return new ToolError(`${file} is a binary file (${fmtBytes(size)}). ${BINARY_HINT[ext] ? `Use ${BINARY_HINT[ext]} for it.` : 'Use read_csv or read_parquet for data files, or execute_code to inspect it.'}`);
}

function looksBinary(buf: Buffer): boolean {
  const n = Math.min(buf.length, 8192);
  for (let i = 0; i < n; i++) if (buf[i] === 0) return true;
  return false;
}

function formatError(e: unknown, file: string, what: string): ToolError {
  if (e instanceof ToolError) return e;
  return new ToolError(`Could not read ${file} as ${what}: ${(e as Error).message}.`);
}

/** A Parquet read error for the model: the file, then what is wrong with it (never a raw JavaScript error). */
function parquetError(e: unknown, file: string): ToolError {
  if (e instanceof ToolError) return e;
  if (e instanceof ParquetFileError) return new ToolError(`Cannot read ${file} as Parquet: ${e.message}.`);
  const m = (e as Error)?.message ?? String(e);
  if (/^unknown column/.test(m)) return new ToolError(`${file}: ${m}.`);
  return new ToolError(`Cannot read ${file} as Parquet: the file is corrupt or uses a feature this reader does not support (${m.slice(0, 200)}).`);
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
    const f = await openData(ctx, i.file_path);
    try {
      const ext = path.extname(f.display).toLowerCase();
      if (ext === '.parquet' || ext === '.arrow' || ext === '.feather') throw binaryError(i.file_path, f.size, ext);
      if (f.size > ctx.config.limits.maxFileBytes) await f.readAll(); // refused with the size limit's message
      // streamed: only the lines asked for are kept (at most 20,000 characters of them), the rest is only counted, so
      // a 100 MB file or one 50 MB line costs the server a chunk at a time, never the whole file as a string
      const offset = i.offset ?? 0;
      const length = i.length ?? 2000;
      const CAP = 20_000;
      const decoder = new StringDecoder('utf8');
      let line = 0; // index of the line being read
      let partial = false; // the current line has characters
      let kept = '';
      let cut = false;
      let seen = 0;
      let lastKept = -1;
      const take = (piece: string) => {
        // a piece of line `line`, kept when the line is in the window and the text under its cap
        if (line < offset || line >= offset + length || cut) return;
        if (line !== lastKept && kept.length >= CAP) { cut = true; return; }
        if (line !== lastKept) { if (lastKept >= 0) kept += '\n'; lastKept = line; }
        const room = CAP - kept.length;
        if (piece.length > room) { kept += piece.slice(0, Math.max(0, room)); cut = true; } else kept += piece;
      };
      const scan = (text: string) => {
        let start = 0;
        for (;;) {
          const nl = text.indexOf('\n', start);
          let piece = text.slice(start, nl === -1 ? text.length : nl);
          if (nl !== -1 && piece.endsWith('\r')) piece = piece.slice(0, -1);
          if (piece) { take(piece); partial = true; } else if (nl !== -1) take('');
          if (nl === -1) return;
          line++; partial = false; start = nl + 1;
        }
      };
      for await (const chunk of await f.stream() as AsyncIterable<Buffer>) {
        // NUL bytes in the first 8 KiB: binary
        if (seen < 8192 && looksBinary(chunk.subarray(0, 8192 - seen))) throw binaryError(i.file_path, f.size, ext);
        seen += chunk.length;
        scan(decoder.write(chunk));
      }
      scan(decoder.end());
      const total = line + (partial ? 1 : 0);
      // CRLF files: the window's lines lose their \r as before
      const text = kept.replace(/\r(?=\n|$)/g, '');
      const shown = lastKept < 0 ? 0 : lastKept - offset + 1;
      const end = offset + shown;
      const header = `${f.display}: ${plural(total, 'line')}, ${fmtBytes(f.size)}. Lines ${offset + 1}-${end}${end < total ? ` (more: continue with offset ${end})` : ' (to the end)'}${cut ? '; cut at 20,000 characters' : ''}.`;
      return { text: `${header}\n${text}`, parts: [{ kind: 'file', path: f.display, bytes: f.size }], metrics: { bytes: f.fetched() } };
    } finally { await f.close(); }
  },
});

export const readCsv = defineTool({
  name: 'read_csv',
  title: 'Read a CSV file',
  description: 'Reads the first rows of a CSV, TSV or JSON Lines (.jsonl, .ndjson) file (local or s3://) with the '
    + 'encoding, delimiter, header and column types inferred. Values are never changed: a column is typed only when '
    + 'every value prints back exactly as in the file (zip codes with leading zeros, long ids and mixed columns stay '
    + 'text), and renamed headers, ragged rows and invalid bytes are reported. Reads only what it returns, so a huge '
    + 'file costs the same as a small one.',
  input: z.strictObject({ file_path: filePath, n_rows: nRows, columns,
    encoding: z.enum(TEXT_ENCODINGS).optional().describe('Text encoding. Default: for CSV/TSV detected (a BOM, UTF-16 '
      + 'by its NUL bytes, UTF-8 if valid, else windows-1252), for JSON Lines UTF-8; the result says which was used.'),
    header: z.boolean().optional().describe('Whether the first row of a CSV/TSV file holds the column names. Default: '
      + 'detected by comparing the first row with the rows below.') }),
  capability: 'files.read',
  readOnly: true,
  summary: i => `Reading CSV ${i.file_path}`,
  handler: async (i, ctx) => {
    const f = await openData(ctx, i.file_path);
    try {
      const nCap = ceiling(i.n_rows, 100, ctx.config.limits.maxRows, 'n_rows');
      const n = nCap.value;
      const name = path.basename(f.display);
      if (/\.(jsonl|ndjson)$/i.test(f.display)) {
        const head = await readJsonlHead(await f.stream(), { nRows: n, columns: i.columns, encoding: i.encoding, budget: ctx.config.limits }).catch(e => { throw formatError(e, i.file_path, 'JSON Lines'); });
        const total = head.more ? `more than ${plural(head.rows.length, 'row')}` : plural(head.rows.length, 'row');
        const r = tableResult({ title: name, columns: head.columns, rows: head.rows, truncated: head.more, totalRows: head.more ? undefined : head.rows.length,
          header: [`${f.display} (${fmtBytes(f.size)}, JSON Lines, encoding ${head.encoding}): ${total}${head.more && !head.stopped ? ` (first ${head.rows.length} read; pass n_rows for more)` : ''}.`,
            ...(head.stopped ? [budgetStopText(head.stopped, ` (line ${head.stopped.line.toLocaleString('en-US')})`)] : []),
            ...head.notes.map(x => `Note: ${x}`), ...(nCap.note ? [`Note: ${nCap.note}`] : [])].join('\n') });
        r.metrics = { rows: head.rows.length, bytes: f.fetched() };
        return r;
      }
      const head = await readCsvHead(await f.stream(), { nRows: n, columns: i.columns, encoding: i.encoding, header: i.header, budget: ctx.config.limits })
        .catch(e => { throw formatError(e, i.file_path, 'CSV'); });
      const d = head.delimiter === '\t' ? 'tab' : `"${head.delimiter}"`;
      const total = head.more ? `more than ${plural(head.rows.length, 'row')}` : plural(head.rows.length, 'row');
      const r = tableResult({ title: name, columns: head.columns, rows: head.rows, truncated: head.more, totalRows: head.more ? undefined : head.rows.length,
        header: [`${f.display} (${fmtBytes(f.size)}): ${total}${head.more && !head.stopped ? ` (first ${head.rows.length} read; pass n_rows for more)` : ''}, encoding ${head.encoding}, delimiter ${d}, ${head.hasHeader ? 'header row' : 'no header row, columns named column_N'}${i.header === undefined ? ` (detected; pass header=${!head.hasHeader} if wrong)` : ''}.`,
          ...(head.stopped ? [budgetStopText(head.stopped, ` (line ${head.stopped.line.toLocaleString('en-US')})`)] : []),
          ...head.notes.map(x => `Note: ${x}`), ...(nCap.note ? [`Note: ${nCap.note}`] : [])].join('\n') });
      r.metrics = { rows: head.rows.length, bytes: f.fetched() };
      return r;
    } finally { await f.close(); }
  },
});

export const readParquet = defineTool({
  name: 'read_parquet',
  title: 'Read a Parquet file',
  description: 'Reads the schema, row count and first rows of a Parquet or Arrow IPC / Feather file (local or s3://), '
    + 'fetching only the footer and the row groups or record batches it needs. The Python sandbox has no Parquet '
    + 'reader (no pyarrow): pass `save_as` ("name.csv") to hand the rows read to Python as a CSV file.',
  input: z.strictObject({ file_path: filePath, n_rows: nRows, columns,
    save_as: z.string().min(1).max(4096).optional().describe('Also write the rows read to this .csv (or .parquet) file, for execute_code.') }),
  capability: 'files.read',
  readOnly: true,
  summary: i => `Reading Parquet ${i.file_path}`,
  handler: async (i, ctx) => {
    const f = await openData(ctx, i.file_path);
    try {
      const nCap = ceiling(i.n_rows, 100, ctx.config.limits.maxRows, 'n_rows');
      const n = nCap.value;
      const name = path.basename(f.display);
      const magic = f.size >= 6 ? Buffer.from(await f.ranged.read(0, 6)).toString('latin1') : '';
      if (magic === 'ARROW1' || /\.(arrow|feather|arrows|ipc)$/i.test(f.display) && !magic.startsWith('PAR1')) {
        const head = await readArrowHead(f.ranged, { nRows: n, columns: i.columns, budget: ctx.config.limits }).catch(e => { throw formatError(e, i.file_path, 'Arrow IPC'); });
        const total = head.totalRows !== undefined ? plural(head.totalRows, 'row') : `more than ${plural(head.rows.length, 'row')}`;
        // save_as as for Parquet (it was ignored here: the reply said nothing and no file was written)
        const saved = i.save_as ? await saveTable(ctx, i.save_as, head.columns, head.rows) : undefined;
        const footer = nCap.note ? [`Note: ${nCap.note}`] : [];
        if (saved) footer.push(`Saved the ${plural(head.rows.length, 'row')} read to ${saved.path} (${fmtBytes(saved.bytes)}); read it in Python with pandas.read_${saved.path.endsWith('.csv') ? 'csv' : 'parquet'}.`);
        if (saved?.notes.length) footer.push(`In the file: ${saved.notes.join('; ')}.`);
        const r = tableResult({ title: name, columns: head.columns, rows: head.rows, truncated: head.more, totalRows: head.totalRows,
          header: `${f.display} (${fmtBytes(f.size)}, Arrow IPC ${head.format}${head.batches !== undefined ? `, ${plural(head.batches, 'record batch', 'record batches')}` : ''}): ${total}; first ${head.rows.length.toLocaleString('en-US')} read (${fmtBytes(head.bytesRead)} of the file).${head.stopped ? `\n${budgetStopText(head.stopped)}` : ''}`,
          footer: footer.length ? footer : undefined });
        if (saved) r.parts.push({ kind: 'file', path: saved.path, bytes: saved.bytes });
        r.metrics = { rows: head.rows.length, bytes: head.bytesRead };
        return r;
      }
      const head = await readParquetHead(f.ranged, { nRows: n, columns: i.columns, budget: ctx.config.limits }).catch(e => { throw parquetError(e, i.file_path); });
      const saved = i.save_as ? await saveTable(ctx, i.save_as, head.columns, head.rows) : undefined;
      const footer = head.notes.map(m => `Note: ${m}.`);
      if (nCap.note) footer.push(`Note: ${nCap.note}`);
      if (saved) footer.push(`Saved the ${plural(head.rows.length, 'row')} read to ${saved.path} (${fmtBytes(saved.bytes)}); read it in Python with pandas.read_${saved.path.endsWith('.csv') ? 'csv' : 'parquet'}.`);
      if (saved?.notes.length) footer.push(`In the file: ${saved.notes.join('; ')}.`); // (a column whose type changed, as execute_query says)
      const r = tableResult({ title: name, columns: head.columns, rows: head.rows, truncated: head.rows.length < head.totalRows, totalRows: head.totalRows,
        header: `${f.display} (${fmtBytes(f.size)}, ${plural(head.rowGroups, 'row group')}): ${plural(head.totalRows, 'row')}; first ${head.rows.length.toLocaleString('en-US')} read (${fmtBytes(head.bytesRead)} of the file).${head.stopped ? `\n${budgetStopText(head.stopped)}` : ''}`,
        footer: footer.length ? footer : undefined });
      if (saved) r.parts.push({ kind: 'file', path: saved.path, bytes: saved.bytes });
      r.metrics = { rows: head.rows.length, bytes: head.bytesRead };
      return r;
    } finally { await f.close(); }
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
    const MAX_ENTRIES = 1000;
    const MAX_DEPTH = 8;
    const match = i.pattern ? globToRegExp(i.pattern) : undefined;
    if (i.path && isS3(i.path)) return listS3(ctx, i.path, { match, recursive: !!i.recursive, max: MAX_ENTRIES });
    const pol = policy(ctx);
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
    const lines = rows.map(r => `${r[0]}${r[1] === 'dir' ? '/' : ''}${r[2] !== null ? `  ${fmtBytes(Number(r[2]))}` : ''}  ${String(r[3]).slice(0, 16)}`);
    if (!i.path && (ctx.config.s3.bucket || ctx.config.s3.extraBuckets.length)) {
      lines.push(`S3 (list with path s3://bucket/prefix/): ${new S3Policy(ctx.config.s3).describe()}`);
    }
    return listingResult(rows, lines, more, MAX_ENTRIES);
  },
});

export const writeFile = defineTool({
  name: 'write_file',
  title: 'Write a file',
  description: 'Writes a file (local or s3://) inside the allowed roots, atomically: the old file stays whole if '
    + 'anything fails. Content is text, or bytes in base64 with encoding "base64". Creates parent folders inside a root. '
    + 'For content too large for one request, send it in pieces: the first without append, the rest with append: true.',
  input: z.strictObject({
    file_path: filePath,
    content: z.string().max(150_000_000).describe('Text, or base64 when encoding is "base64".'),
    encoding: z.enum(['utf8', 'base64']).optional().describe('Default "utf8".'),
    append: z.boolean().optional().describe('Add the content to the end of the file (created when missing) instead of replacing it. Each call appends all of its content or nothing. Default false.'),
  }),
  capability: 'files.write',
  readOnly: false,
  confirm: i => ({ title: i.append ? 'Append to this file?' : 'Write this file?', message: `${i.append ? 'Append' : 'Write'} ${i.content.length.toLocaleString('en-US')} ${i.encoding === 'base64' ? 'base64 characters' : 'characters'} to \`${i.file_path}\`` }),
  summary: i => `Writing ${i.file_path}`,
  handler: async (i, ctx) => {
    let data: Buffer;
    if (i.encoding === 'base64') {
      if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(i.content)) throw new ToolError('content is not valid base64 (encoding "base64" was given).');
      data = Buffer.from(i.content, 'base64');
    } else data = Buffer.from(i.content, 'utf8');
    if (i.append) {
      const a = await appendData(ctx, i.file_path, data);
      return { text: `Appended ${fmtBytes(data.byteLength)} to ${a.path} (now ${fmtBytes(a.size)}).`, parts: [{ kind: 'file', path: a.path, bytes: a.size }], metrics: { bytes: data.byteLength } };
    }
    const written = await writeData(ctx, i.file_path, data);
    return { text: `Wrote ${fmtBytes(data.byteLength)} to ${written}.`, parts: [{ kind: 'file', path: written, bytes: data.byteLength }], metrics: { bytes: data.byteLength } };
  },
});
