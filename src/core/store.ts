/** The result store (issue 15): every table a tool produces is kept under a short id so the agent (get_result),
 *  MCP clients (datatools://results/<id>) and the grid can page, sort, filter, describe and export the WHOLE
 *  result without the reply carrying it.
 *
 *  Rows stay in memory up to a byte budget (rows counted in bytes); a result that does not fit is spilled to
 *  `<workDir>/.results/<store>/<id>-<n>.arrow`, an Arrow IPC file with one record batch per chunk of rows (see
 *  spill.ts: Arrow types per column where they hold the values exactly, else each value v8-serialized in a Binary
 *  column, so every value of the value model reads back identical), with an in-memory index (byte range, first row,
 *  row count of each batch) so any window reads only its chunks. A result that is still arriving (open/append)
 *  spills its full chunks while it grows once the memory budget is exceeded; the rows so far stay pageable.
 *  Results are evicted when idle longer than the configured time, and oldest first past the memory or disk budget. */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ColumnInfo, TablePart } from './result';
import { ToolError } from './result';
import { logicalType, valueText, type LogicalKind } from './values';
import { SpillFile } from './spill';

export interface StoreLimits {
  /** Bytes of rows held in memory across all results. */
  memoryBytes: number;
  /** Bytes of spilled results on disk across all results. */
  diskBytes: number;
  /** A result unused for this long is dropped, seconds. */
  idleSeconds: number;
}

export interface ResultInfo {
  id: string;
  /** The tool that produced it. */
  tool: string;
  title?: string;
  columns: ColumnInfo[];
  /** Rows stored (exact). */
  rows: number;
  /** The source had more rows than were read (e.g. max_rows); the store holds what the tool read. */
  sourceTruncated: boolean;
  /** Rows the source holds where known (may exceed `rows`). */
  sourceTotalRows?: number;
  /** Estimated bytes of the rows. */
  bytes: number;
  where: 'memory' | 'disk';
  created: number;
  lastUsed: number;
  /** The rows are still arriving (a streamed query): `rows` counts the rows so far. */
  loading?: boolean;
  /** The call that was filling it failed after these rows arrived: what stopped it (the rows are kept). */
  failed?: string;
}

export type FilterOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'contains' | 'starts_with' | 'is_null' | 'not_null' | 'in';
export const FILTER_OPS: readonly FilterOp[] = ['=', '!=', '<', '<=', '>', '>=', 'contains', 'starts_with', 'is_null', 'not_null', 'in'];

export interface Filter { column: string; op: FilterOp; value?: unknown }
export interface OrderBy { column: string; desc?: boolean }

export interface PageRequest {
  offset?: number;
  limit?: number;
  /** Columns to return, by name, in this order; default all. */
  columns?: string[];
  orderBy?: OrderBy[];
  /** All must hold (AND). */
  where?: Filter[];
  /** Rows where some column's text contains this, ignoring case (the grid's filter box); ANDed with `where`. */
  search?: string;
}

export interface Page {
  columns: ColumnInfo[];
  rows: unknown[][];
  /** Rows matching `where` (exact; all rows when there is no filter). */
  matched: number;
  /** Rows stored in all. */
  total: number;
  offset: number;
}

export interface ColumnStats {
  column: string;
  type: string;
  count: number;
  nulls: number;
  distinct: number;
  /** false when the distinct count passed the cap: `distinct` is then a lower bound. */
  distinctExact: boolean;
  min: unknown;
  max: unknown;
  /** Numeric columns only (computed in float64). */
  mean?: number;
  /** Sample standard deviation (as SQL stddev / stddev_samp); numeric columns with 2+ values only. */
  stddev?: number;
  /** The most frequent values (only when the distinct count is exact), most frequent first, ties by value. */
  top: { value: unknown; count: number }[];
}

export interface Description { rows: number; matched: number; columns: ColumnStats[] }

interface Entry {
  info: ResultInfo;
  /** Rows held in memory: rows `memFirst`.. of the result (all of them unless a growing result spilled some). */
  mem?: unknown[][];
  memFirst: number;
  /** Bytes of `mem` counted in the store's memory use. */
  memBytes: number;
  /** Rows 0..memFirst-1 (all rows once `mem` is gone) on disk. */
  spill?: SpillFile;
  /** Bytes of the spill file counted in the store's disk use. */
  diskBytes: number;
  /** A spill of this entry's rows in progress (growing results write full chunks while they grow). */
  flushing?: Promise<void>;
  /** Being moved to disk by `put` (so two puts do not both move it). */
  moving?: boolean;
  /** A spill while growing failed: the rows stay in memory. */
  flushFailed?: boolean;
  /** Dropped or replaced: its bytes are no longer counted. */
  released?: boolean;
  /** The last sort (its key and the sorted row numbers), kept for paging through it. */
  sorted?: { key: string; rowNos: Uint32Array | number[] };
  /** Set while the result is still growing (open/append, until finish or fail). */
  growing?: { done: Promise<void>; resolve: () => void };
}

const MEMORY_CHUNK_ROWS = 8192;
const SPILL_CHUNK_BYTES = 4 * 1024 * 1024;
const SPILL_CHUNK_MAX_ROWS = 50_000;
/** Bytes per spilled chunk: an eighth of the memory budget, between 256 KB and 4 MB (a growing result keeps about
 *  two chunks in memory past the budget). */
export const chunkBytes = (memoryBytes: number) => Math.min(SPILL_CHUNK_BYTES, Math.max(256 * 1024, Math.floor(memoryBytes / 8)));
/** Distinct values counted exactly per column before `distinct` becomes a lower bound. */
export const DISTINCT_CAP = 100_000;
const TOP_VALUES = 5;

const fmt = (n: number) => n.toLocaleString('en-US');
/** Lets other work run between chunks of a long pass (in the extension host: the grid's next window). */
const breathe = () => new Promise<void>(r => setImmediate(r));

/** Approximate bytes a value holds in memory. */
export function valueBytes(v: unknown): number {
  if (v === null || v === undefined) return 8;
  switch (typeof v) {
    case 'string': return 16 + v.length * 2;
    case 'number': case 'boolean': return 8;
    case 'bigint': return 24;
    case 'object': break;
    default: return 16;
  }
  if (v instanceof Uint8Array) return 64 + v.byteLength;
  let n = 32;
  if (Array.isArray(v)) for (const x of v) n += valueBytes(x);
  else for (const [k, x] of Object.entries(v as object)) n += 16 + k.length * 2 + valueBytes(x);
  return n;
}

export function rowBytes(r: unknown[]): number {
  let n = 32;
  for (const v of r) n += valueBytes(v);
  return n;
}

function duration(sec: number): string {
  if (sec % 3600 === 0) return `${sec / 3600} h`;
  if (sec % 60 === 0) return `${sec / 60} min`;
  return `${sec} s`;
}

export class ResultStore {
  private entries = new Map<string, Entry>();
  private memUsed = 0;
  private diskUsed = 0;
  private dir: Promise<string> | undefined;
  private dirPath: string | undefined;
  private fileNo = 0;
  private disposed = false;
  private rooming: Promise<void> | undefined;

  /** `workDir` and `limits` are read on every use, so a reconfigured host applies new budgets. */
  constructor(private readonly opts: { workDir: () => string; limits: () => StoreLimits; now?: () => number }) {}

  private now(): number { return (this.opts.now ?? Date.now)(); }

  /** Stores a table part's rows; returns its info (the id to hand to the agent). */
  async put(tool: string, part: TablePart, reuse?: string): Promise<ResultInfo> {
    this.sweep();
    let id: string;
    if (reuse) id = reuse;
    else do id = this.newId(); while (this.entries.has(id));
    const rows = part.rows;
    let bytes = 0;
    for (const r of rows) bytes += rowBytes(r);
    const t = this.now();
    const info: ResultInfo = {
      id, tool, title: part.title, columns: part.columns.map(c => ({ name: c.name, type: c.type })), rows: rows.length,
      sourceTruncated: part.truncated, sourceTotalRows: part.totalRows, bytes, where: 'memory', created: t, lastUsed: t,
    };
    const entry: Entry = { info, memFirst: 0, memBytes: 0, diskBytes: 0 };
    const limits = this.opts.limits();
    if (bytes > limits.memoryBytes) {
      try {
        await this.writeRows(entry, rows, 0);
      } catch (e) {
        this.release(entry);
        entry.spill?.discard();
        throw new Error(`it could not be written to the result store's spill folder (${(e as Error)?.message ?? String(e)})`);
      }
      entry.memFirst = rows.length;
      info.where = 'disk';
    } else {
      // room in memory: older results in memory go to disk first (oldest first)
      const inMem = this.movable();
      while (this.memUsed + bytes > limits.memoryBytes && inMem.length) await this.moveToDisk(inMem.shift()!);
      entry.mem = rows;
      entry.memBytes = bytes;
      this.memUsed += bytes;
    }
    this.entries.set(id, entry);
    this.enforceDisk(id);
    return { ...info };
  }

  private newId(): string { return `r${randomBytes(4).readUInt32BE(0).toString(36).padStart(6, '0').slice(-6)}`; }

  /** Starts a result whose rows are still arriving (a streamed query): `page` serves the rows so far at once;
   *  sorting, filtering, statistics and scans wait until it is finished (they always cover the whole result).
   *  Past the memory budget its full chunks are written to disk while it grows. */
  open(tool: string, columns: ColumnInfo[]): ResultInfo {
    this.sweep();
    let id: string;
    do id = this.newId(); while (this.entries.has(id));
    const t = this.now();
    let resolve!: () => void;
    const done = new Promise<void>(r => { resolve = r; });
    const entry: Entry = {
      info: { id, tool, columns: columns.map(c => ({ name: c.name, type: c.type })), rows: 0, sourceTruncated: false, bytes: 0, where: 'memory', created: t, lastUsed: t, loading: true },
      mem: [], memFirst: 0, memBytes: 0, diskBytes: 0, growing: { done, resolve },
    };
    this.entries.set(id, entry);
    return { ...entry.info };
  }

  /** Adds rows to a result that is still growing (ignored when it was dropped meanwhile). When the store is over
   *  its memory budget, the result's full chunks are written to disk in the background (in order, one at a time).
   *  The promise is the back-pressure: it waits while the rows not yet written are more than two chunks past the
   *  budget, so a fast source cannot outrun the disk (a caller that does not wait still has every row stored). */
  append(id: string, rows: unknown[][]): Promise<void> {
    const e = this.entries.get(id);
    if (!e?.growing || !e.mem) return Promise.resolve();
    let bytes = 0;
    for (const r of rows) { e.mem.push(r); bytes += rowBytes(r); }
    e.info.rows += rows.length;
    e.info.bytes += bytes;
    e.memBytes += bytes;
    this.memUsed += bytes;
    e.info.lastUsed = this.now();
    this.kick(e);
    const limit = this.opts.limits().memoryBytes;
    return e.flushing && this.memUsed > limit && e.memBytes > 2 * chunkBytes(limit) ? this.flushed(id) : Promise.resolve();
  }

  /** Starts the background spill of a growing result when the store is over its memory budget and the result
   *  holds a full chunk (again after a spill ends, for rows that arrived meanwhile). */
  private kick(e: Entry): void {
    const limit = this.opts.limits().memoryBytes;
    if (e.flushing || e.flushFailed || e.released || !e.growing || this.memUsed <= limit || e.memBytes < chunkBytes(limit)) return;
    e.flushing = this.flush(e).finally(() => { e.flushing = undefined; this.kick(e); });
  }

  /** Waits until no background spill of the result is running (for tests and callers that read its file). */
  async flushed(id: string): Promise<void> {
    for (let e = this.entries.get(id); e?.flushing; e = this.entries.get(id)) await e.flushing;
  }

  /** Writes a growing result's full chunks (oldest rows first) to its spill file while the store is over budget. */
  private async flush(e: Entry): Promise<void> {
    try {
      for (;;) {
        const limits = this.opts.limits();
        if (e.released || !e.mem || this.memUsed <= limits.memoryBytes) return;
        const target = chunkBytes(limits.memoryBytes);
        let k = 0, b = 0;
        while (k < e.mem.length && k < SPILL_CHUNK_MAX_ROWS && b < target) b += rowBytes(e.mem[k++]);
        if (b < target && k < SPILL_CHUNK_MAX_ROWS) return; // not a full chunk yet
        await this.writeRows(e, e.mem.slice(0, k), e.memFirst);
        if (e.released || !e.mem) return;
        // written first, then released: a page read meanwhile found the rows in memory
        e.mem.splice(0, k);
        e.memFirst += k;
        e.memBytes -= b;
        this.memUsed -= b;
        e.info.where = 'disk';
        if (this.overDisk(e.info.id)) { this.drop(e.info.id); return; }
      }
    } catch {
      // the rows stay in memory (the final put reports a spill failure the agent can see)
      e.flushFailed = true;
    }
  }

  /** Completes a growing result with the call's final table. When the rows streamed in are the final rows (the same
   *  count and columns: the source streamed every row it returns) they are kept where they are, with the part's
   *  title and totals: the chunks spilled while it grew stay on disk and the rest in memory (no row is written
   *  again). A result over the memory budget that never spilled is written to disk first; past the budget, results
   *  in memory move to disk in the background, oldest first. Otherwise the part's rows replace the streamed ones under
   *  the same id (stored as `put` would); the rows streamed so far stay readable until then. */
  async finish(id: string, part: TablePart, tool: string): Promise<ResultInfo> {
    const e = this.entries.get(id);
    if (e) await this.flushed(id);
    const same = !!e && !!e.growing && !e.released && !e.flushFailed && this.entries.get(id) === e && e.info.rows === part.rows.length
      && e.info.columns.length === part.columns.length && e.info.columns.every((c, i) => c.name === part.columns[i].name && c.type === part.columns[i].type);
    if (e && same) {
      const info = e.info;
      info.title = part.title;
      info.sourceTruncated = part.truncated;
      info.sourceTotalRows = part.totalRows;
      delete info.loading;
      info.lastUsed = this.now();
      const g = e.growing!;
      e.growing = undefined;
      try {
        if (!e.spill && e.memBytes > this.opts.limits().memoryBytes) {
          try {
            await this.moveToDisk(e);
          } catch (err) {
            this.drop(id);
            throw new Error(`it could not be written to the result store's spill folder (${(err as Error)?.message ?? String(err)})`);
          }
          if (e.released) throw new Error('it was dropped by the store while it was written (its budgets)');
        }
        this.enforceDisk(id);
      } finally {
        g.resolve();
      }
      this.makeRoom(e);
      return { ...info };
    }
    if (e) this.release(e);
    try {
      return await this.put(tool, part, id);
    } finally {
      if (e) {
        if (this.entries.get(id) === e) this.entries.delete(id);
        e.spill?.discard();
        e.growing?.resolve();
      }
    }
  }

  /** Ends a growing result whose call failed: the rows received stay, labelled with what stopped them. */
  fail(id: string, message: string): void {
    const e = this.entries.get(id);
    if (!e?.growing) return;
    e.info.loading = false;
    e.info.failed = message;
    e.info.sourceTruncated = true;
    const g = e.growing;
    e.growing = undefined;
    g.resolve();
  }

  /** Waits until a growing result is finished or failed (nothing to wait for otherwise). */
  private async settled(e: Entry): Promise<Entry> {
    if (!e.growing) return e;
    await e.growing.done;
    return this.get(e.info.id);
  }

  private spillDir(): Promise<string> {
    if (!this.dir) {
      const dir = path.join(this.opts.workDir(), '.results', `${process.pid}-${randomBytes(3).toString('hex')}`);
      this.dirPath = dir;
      this.dir = fs.promises.mkdir(dir, { recursive: true }).then(() => dir);
    }
    return this.dir;
  }

  /** Appends rows (row `first` onwards) to the entry's spill file in chunks, and counts the file's bytes. */
  private async writeRows(e: Entry, rows: unknown[][], first: number): Promise<void> {
    // a background spill that outlived dispose() must not create the folder again
    if (this.disposed) throw new Error('the result store was closed');
    if (!e.spill) {
      const dir = await this.spillDir();
      const k = ++this.fileNo;
      e.spill = new SpillFile(n => path.join(dir, `${e.info.id}-${k}${n ? `.${n}` : ''}.arrow`), e.info.columns);
    }
    const target = chunkBytes(this.opts.limits().memoryBytes);
    const batches: unknown[][][] = [];
    for (let start = 0; start < rows.length;) {
      let end = start;
      let b = 0;
      while (end < rows.length && end - start < SPILL_CHUNK_MAX_ROWS && (end === start || b < target)) b += rowBytes(rows[end++]);
      batches.push(rows.slice(start, end));
      start = end;
    }
    await e.spill.append(batches, first);
    if (e.released) return;
    this.diskUsed += e.spill.size - e.diskBytes;
    e.diskBytes = e.spill.size;
  }

  /** Moves an entry's rows in memory to its spill file (put makes room this way). */
  private async moveToDisk(e: Entry): Promise<void> {
    e.moving = true;
    try {
      if (e.flushing) await e.flushing;
      const rows = e.mem;
      if (!rows || e.released) return;
      await this.writeRows(e, rows, e.memFirst);
      if (e.released) return;
      // written first, then released: a page read meanwhile still finds the rows in memory
      this.memUsed -= e.memBytes;
      e.memBytes = 0;
      e.mem = undefined;
      e.memFirst = e.info.rows;
      e.info.where = 'disk';
    } finally {
      e.moving = false;
    }
  }

  /** The finished results held in memory that may move to disk, in the one order both paths use (put making room
   *  for a new result, makeRoom after a result grew): least recently used first. */
  private movable(except?: Entry): Entry[] {
    return [...this.entries.values()].filter(x => x !== except && x.mem?.length && x.memBytes > 0 && !x.growing && !x.moving && !x.released)
      .sort((a, b) => a.info.lastUsed - b.info.lastUsed);
  }

  /** Past the memory budget, moves results in memory to disk in the background, oldest first and `last` last; a
   *  result that cannot be written is dropped (evicted) instead. */
  private makeRoom(last: Entry): void {
    if (this.memUsed <= this.opts.limits().memoryBytes || this.rooming) return;
    this.rooming = (async () => {
      const inMem = this.movable(last);
      if (last.mem?.length && !last.growing) inMem.push(last);
      for (const x of inMem) {
        if (this.memUsed <= this.opts.limits().memoryBytes || this.disposed) break;
        if (x.released || x.moving || x.growing) continue;
        try { await this.moveToDisk(x); } catch { this.drop(x.info.id); }
        try { this.enforceDisk(x.info.id); } catch { /* dropped: over the disk budget alone */ }
      }
    })().finally(() => { this.rooming = undefined; });
  }

  /** Waits until the background moves to disk (makeRoom) are done (for tests). */
  async settledMemory(): Promise<void> { while (this.rooming) await this.rooming; }

  /** Past the disk budget, drops other spilled results, oldest first; true when `keep` alone is over the budget. */
  private overDisk(keep: string): boolean {
    const limit = this.opts.limits().diskBytes;
    if (this.diskUsed <= limit) return false;
    if ((this.entries.get(keep)?.diskBytes ?? 0) > limit) return true;
    const onDisk = [...this.entries.values()].filter(e => e.diskBytes > 0 && e.info.id !== keep).sort((a, b) => a.info.lastUsed - b.info.lastUsed);
    while (this.diskUsed > limit && onDisk.length) this.drop(onDisk.shift()!.info.id);
    return false;
  }

  private enforceDisk(keep: string): void {
    if (!this.overDisk(keep)) return;
    // a single result over the whole disk budget is not kept (and evicts nothing)
    this.drop(keep);
    throw new Error(`it is larger than the result store's disk budget of ${fmt(Math.round(this.opts.limits().diskBytes / 1048576))} MB (DATATOOLS_RESULT_DISK_MB)`);
  }

  /** Stops counting an entry's memory and disk bytes (once). */
  private release(e: Entry): void {
    if (e.released) return;
    e.released = true;
    this.memUsed -= e.memBytes;
    this.diskUsed -= e.diskBytes;
    e.memBytes = 0;
    e.diskBytes = 0;
  }

  private drop(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    this.release(e);
    e.spill?.discard();
    e.growing?.resolve();
  }

  /** Drops results idle past the configured time. */
  sweep(): void {
    const idle = this.opts.limits().idleSeconds * 1000;
    const t = this.now();
    for (const [id, e] of this.entries) if (t - e.info.lastUsed > idle) this.drop(id);
  }

  private get(id: string): Entry {
    this.sweep();
    const e = this.entries.get(id);
    if (!e) {
      const l = this.opts.limits();
      throw new ToolError(`No stored result \`${id}\`: results are kept for ${duration(l.idleSeconds)} after their last use and while they fit the `
        + `store's budgets (${fmt(Math.round(l.memoryBytes / 1048576))} MB in memory, ${fmt(Math.round(l.diskBytes / 1048576))} MB on disk), and not across `
        + 'server restarts. Re-run the tool that produced it (e.g. the same execute_query or read_csv) to get a new result id.');
    }
    e.info.lastUsed = this.now();
    return e;
  }

  /** The result's description, or a ToolError when it is unknown or evicted. */
  async info(id: string): Promise<ResultInfo> { return { ...this.get(id).info }; }

  /** The Arrow IPC file a result is spilled to (for tests and tools that read it directly); undefined while the
   *  result is in memory. It holds the whole result only when no rows are left in memory: a streamed result
   *  keeps the rows after its last spilled chunk in memory until the store needs the room. */
  spillPath(id: string): string | undefined { return this.get(id).spill?.path; }

  /** Ids of the stored results, most recently used first. */
  list(): ResultInfo[] {
    this.sweep();
    return [...this.entries.values()].map(e => ({ ...e.info })).sort((a, b) => b.lastUsed - a.lastUsed);
  }

  has(id: string): boolean { this.sweep(); return this.entries.has(id); }

  /** Drops a result now (as eviction would); false when it was not held. */
  remove(id: string): boolean { const had = this.entries.has(id); this.drop(id); return had; }

  /** The stored chunk holding row `rowNo`: its first row number and its rows. Where the row is (memory or disk) is
   *  decided at once: a growing result moves rows to disk meanwhile, but a row's number never changes. */
  private chunkAt(e: Entry, rowNo: number): { first: number; rows: unknown[][] } | Promise<{ first: number; rows: unknown[][] }> {
    if (e.mem && rowNo >= e.memFirst) {
      const k = Math.floor((rowNo - e.memFirst) / MEMORY_CHUNK_ROWS);
      return { first: e.memFirst + k * MEMORY_CHUNK_ROWS, rows: e.mem.slice(k * MEMORY_CHUNK_ROWS, (k + 1) * MEMORY_CHUNK_ROWS) };
    }
    const cs = e.spill?.chunks ?? [];
    if (!cs.length) return { first: rowNo, rows: [] };
    let lo = 0, hi = cs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (cs[mid].first <= rowNo) lo = mid; else hi = mid - 1;
    }
    const first = cs[lo].first;
    return e.spill!.read(lo).then(rows => ({ first, rows }));
  }

  /** Rows `start`..`end`-1 chunk by chunk, in order: `fn(rows, number of the first)`. */
  private async eachChunk(e: Entry, start: number, end: number, fn: (rows: unknown[][], first: number) => void, breatheEvery = 0): Promise<void> {
    let n = 0;
    for (let pos = start; pos < end;) {
      const c = await this.chunkAt(e, pos);
      if (pos < c.first || pos >= c.first + c.rows.length) throw new Error(`row ${pos + 1} of result ${e.info.id} is missing from the store`);
      const to = Math.min(c.rows.length, end - c.first);
      fn(pos === c.first && to === c.rows.length ? c.rows : c.rows.slice(pos - c.first, to), pos);
      pos = c.first + to;
      if (breatheEvery && ++n % breatheEvery === 0) await breathe();
    }
  }

  /** Rows by their row numbers, in the order given, reading each needed chunk once. */
  private async rowsAt(e: Entry, rowNos: ArrayLike<number>): Promise<unknown[][]> {
    const mem = e.mem;
    if (mem && e.memFirst === 0) return Array.from(rowNos, n => mem[n]);
    const out: unknown[][] = new Array(rowNos.length);
    const order = Array.from({ length: rowNos.length }, (_, i) => i).sort((a, b) => rowNos[a] - rowNos[b]);
    for (let k = 0; k < order.length;) {
      const want = rowNos[order[k]];
      const c = await this.chunkAt(e, want);
      if (want < c.first || want >= c.first + c.rows.length) throw new Error(`row ${want + 1} of result ${e.info.id} is missing from the store`);
      const end = c.first + c.rows.length;
      for (; k < order.length && rowNos[order[k]] < end; k++) out[order[k]] = c.rows[rowNos[order[k]] - c.first];
    }
    return out;
  }

  private colIndex(e: Entry, name: string, what: string): number {
    const i = e.info.columns.findIndex(c => c.name === name);
    if (i >= 0) return i;
    const names = e.info.columns.map(c => c.name);
    throw new ToolError(`${what}: result \`${e.info.id}\` has no column "${name}". Its columns: ${names.slice(0, 50).join(', ')}${names.length > 50 ? `, … (${fmt(names.length)} in all)` : ''}.`);
  }

  private predicate(e: Entry, where: Filter[] | undefined, search?: string): ((r: unknown[]) => boolean) | undefined {
    const needle = search?.trim().toLowerCase();
    if (!where?.length && !needle) return undefined;
    const tests = (where ?? []).map(f => {
      const i = this.colIndex(e, f.column, 'where');
      const col = e.info.columns[i];
      return compileFilter(f, i, logicalType(col.type).kind, col.type);
    });
    if (needle) {
      const types = e.info.columns.map(c => c.type);
      tests.push(r => r.some((v, i) => v !== null && v !== undefined && valueText(v, types[i]).toLowerCase().includes(needle)));
    }
    return r => tests.every(t => t(r));
  }

  /** Row numbers in the requested order (all matching rows); reads the chunks once, holds only (keys, rowNo). */
  private async order(e: Entry, orderBy: OrderBy[], where: Filter[] | undefined, search?: string): Promise<ArrayLike<number>> {
    const key = JSON.stringify([orderBy, where ?? [], search?.trim().toLowerCase() ?? '']);
    if (e.sorted?.key === key) return e.sorted.rowNos;
    const cols = orderBy.map(o => this.colIndex(e, o.column, 'order_by'));
    const kinds = cols.map(i => logicalType(e.info.columns[i].type).kind);
    const pred = this.predicate(e, where, search);
    const keys: unknown[][] = [];
    const nos: number[] = [];
    await this.eachChunk(e, 0, e.info.rows, (rows, first) => {
      for (let j = 0; j < rows.length; j++) {
        if (pred && !pred(rows[j])) continue;
        keys.push(cols.map(i => rows[j][i]));
        nos.push(first + j);
      }
    }, 16);
    const perm = Array.from(nos.keys());
    perm.sort((a, b) => {
      for (let k = 0; k < cols.length; k++) {
        const x = keys[a][k], y = keys[b][k];
        const xn = x === null || x === undefined, yn = y === null || y === undefined;
        if (xn || yn) { if (xn && yn) continue; return xn ? 1 : -1; } // nulls last, either direction
        const d = compareValues(x, y, kinds[k]);
        if (d !== 0) return orderBy[k].desc ? -d : d;
      }
      return nos[a] - nos[b]; // stable: ties keep the stored order
    });
    const rowNos = Uint32Array.from(perm, p => nos[p]);
    e.sorted = { key, rowNos };
    return rowNos;
  }

  private projection(e: Entry, columns: string[] | undefined): { cols: ColumnInfo[]; idx: number[] | undefined } {
    if (!columns?.length) return { cols: e.info.columns, idx: undefined };
    const idx = columns.map(c => this.colIndex(e, c, 'columns'));
    return { cols: idx.map(i => e.info.columns[i]), idx };
  }

  /** A window of the (filtered, sorted) result. `matched` is exact. */
  async page(id: string, req: PageRequest = {}): Promise<Page> {
    const e0 = this.get(id);
    // rows so far for a plain window; a sorted or filtered one covers the whole result, so it waits for the rest
    const e = req.orderBy?.length || req.where?.length || req.search?.trim() ? await this.settled(e0) : e0;
    const offset = Math.max(0, Math.floor(req.offset ?? 0));
    const limit = Math.max(0, Math.floor(req.limit ?? 100));
    const { cols, idx } = this.projection(e, req.columns);
    const project = (rows: unknown[][]) => idx ? rows.map(r => idx.map(i => r[i])) : rows;
    const total = e.info.rows;
    if (req.orderBy?.length) {
      const nos = await this.order(e, req.orderBy, req.where, req.search);
      const window = Array.prototype.slice.call(nos, offset, offset + limit) as number[];
      return { columns: cols, rows: project(await this.rowsAt(e, window)), matched: nos.length, total, offset };
    }
    const pred = this.predicate(e, req.where, req.search);
    if (!pred) {
      const end = Math.min(total, offset + limit);
      const rows: unknown[][] = [];
      await this.eachChunk(e, offset, end, chunk => { for (const r of chunk) rows.push(r); });
      return { columns: cols, rows: project(rows), matched: total, total, offset };
    }
    // a filter without order: one pass, counting every match and keeping the window
    let matched = 0;
    const rows: unknown[][] = [];
    await this.eachChunk(e, 0, total, chunk => {
      for (const r of chunk) {
        if (!pred(r)) continue;
        if (matched >= offset && rows.length < limit) rows.push(r);
        matched++;
      }
    });
    return { columns: cols, rows: project(rows), matched, total, offset };
  }

  /** Every row of the (filtered, sorted, projected) result, in chunks, for export. */
  async *scan(id: string, req: Omit<PageRequest, 'offset' | 'limit'> = {}): AsyncGenerator<unknown[][]> {
    const e = await this.settled(this.get(id));
    const { idx } = this.projection(e, req.columns);
    const project = (rows: unknown[][]) => idx ? rows.map(r => idx.map(i => r[i])) : rows;
    if (req.orderBy?.length) {
      const nos = await this.order(e, req.orderBy, req.where, req.search);
      const step = 10_000;
      for (let i = 0; i < nos.length; i += step) yield project(await this.rowsAt(e, Array.prototype.slice.call(nos, i, i + step) as number[]));
      return;
    }
    const pred = this.predicate(e, req.where, req.search);
    const total = e.info.rows;
    for (let pos = 0; pos < total;) {
      const c = await this.chunkAt(e, pos);
      if (pos < c.first || pos >= c.first + c.rows.length) throw new Error(`row ${pos + 1} of result ${e.info.id} is missing from the store`);
      const rows = pos === c.first ? c.rows : c.rows.slice(pos - c.first);
      pos = c.first + c.rows.length;
      yield project(pred ? rows.filter(pred) : rows);
    }
  }

  /** Columns of the (filtered, projected) result after a scan. */
  async columnsOf(id: string, columns?: string[]): Promise<ColumnInfo[]> { return this.projection(this.get(id), columns).cols; }

  /** Per-column statistics over the WHOLE result (after `where`). */
  async describe(id: string, columns?: string[], where?: Filter[], search?: string): Promise<Description> {
    const e = await this.settled(this.get(id));
    const { cols, idx } = this.projection(e, columns);
    const at = idx ?? cols.map((_, i) => i);
    const acc = cols.map(c => new StatsAcc(c, logicalType(c.type).kind));
    const pred = this.predicate(e, where, search);
    let matched = 0;
    await this.eachChunk(e, 0, e.info.rows, rows => {
      for (const r of rows) {
        if (pred && !pred(r)) continue;
        matched++;
        for (let k = 0; k < at.length; k++) acc[k].add(r[at[k]]);
      }
    }, 4);
    return { rows: e.info.rows, matched, columns: acc.map(a => a.result()) };
  }

  /** Removes every result and the spill folder. */
  async dispose(): Promise<void> {
    this.disposed = true;
    for (const id of [...this.entries.keys()]) this.drop(id);
    if (this.dir) {
      await this.dir.catch(() => undefined);
      await fs.promises.rm(this.dirPath!, { recursive: true, force: true }).catch(() => undefined);
    }
    this.dir = undefined;
  }

  get isDisposed(): boolean { return this.disposed; }
  /** Bytes in memory and on disk now (for tests and the status line). */
  usage(): { memoryBytes: number; diskBytes: number; results: number } { return { memoryBytes: this.memUsed, diskBytes: this.diskUsed, results: this.entries.size }; }
}

// ---- comparisons in the value model ---------------------------------------------------------------------------

/** Strings by Unicode code point (UTF-16 code units order surrogates before U+E000..U+FFFF; code points do not). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      const xp = a.codePointAt(i)!, yp = b.codePointAt(i)!;
      if (xp !== yp) return xp < yp ? -1 : 1;
      continue;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

const DEC = /^([+-]?)(\d*)(?:\.(\d*))?$/;
/** Two decimal strings compared exactly (no float); "NaN" sorts above everything, ±Infinity as infinities. */
export function compareDecimal(a: string, b: string): number {
  const ra = decRank(a), rb = decRank(b);
  if (ra !== 0 || rb !== 0) return ra === rb ? 0 : ra < rb ? -1 : 1;
  const ma = DEC.exec(a.trim()), mb = DEC.exec(b.trim());
  if (!ma || !mb) return compareCodePoints(a, b);
  const sa = decSign(ma), sb = decSign(mb);
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (sa === 0) return 0;
  const ia = ma[2].replace(/^0+/, ''), ib = mb[2].replace(/^0+/, '');
  let d = ia.length !== ib.length ? (ia.length < ib.length ? -1 : 1) : (ia < ib ? -1 : ia > ib ? 1 : 0);
  if (d === 0) {
    const fa = (ma[3] ?? '').replace(/0+$/, ''), fb = (mb[3] ?? '').replace(/0+$/, '');
    const w = Math.max(fa.length, fb.length);
    const pa = fa.padEnd(w, '0'), pb = fb.padEnd(w, '0');
    d = pa < pb ? -1 : pa > pb ? 1 : 0;
  }
  return sa < 0 ? -d : d;
}
function decRank(s: string): number {
  const t = s.trim().toLowerCase();
  if (t === 'nan') return 3;
  if (t === 'infinity' || t === '+infinity' || t === 'inf') return 2;
  if (t === '-infinity' || t === '-inf') return -2;
  return 0;
}
function decSign(m: RegExpExecArray): number {
  if (/^0*$/.test(m[2]) && /^0*$/.test(m[3] ?? '')) return 0;
  return m[1] === '-' ? -1 : 1;
}
/** A decimal's canonical text for equality and distinct counts ("1.50" and "1.5" are the same number). */
function decimalKey(s: string): string {
  const m = DEC.exec(s.trim());
  if (!m) return s;
  if (decSign(m) === 0) return '0';
  const i = m[2].replace(/^0+/, '') || '0';
  const f = (m[3] ?? '').replace(/0+$/, '');
  return `${m[1] === '-' ? '-' : ''}${i}${f ? `.${f}` : ''}`;
}

const TEMPORAL: ReadonlySet<LogicalKind> = new Set(['date', 'timestamp', 'timestamptz', 'time']);
/** Dates and timestamps as their ISO strings: the year compared as a signed number (negative years and PostgreSQL's
 *  "… BC" suffix sort before year 1), the rest by code point with a trailing "Z" ignored (so "12:00:00Z" sorts
 *  before "12:00:00.5Z"). */
function compareTemporal(a: string, b: string): number {
  const ka = temporalKey(a), kb = temporalKey(b);
  if (ka.year !== kb.year) return ka.year < kb.year ? -1 : 1;
  return compareCodePoints(ka.rest, kb.rest);
}
function temporalKey(s: string): { year: number; rest: string } {
  let t = s;
  let bc = false;
  if (t.endsWith(' BC')) { bc = true; t = t.slice(0, -3); }
  if (t.endsWith('Z')) t = t.slice(0, -1);
  const m = /^([+-]?)(\d{4,})(-.*)$/.exec(t);
  if (!m) return { year: 0, rest: t };
  let year = Number(m[2]) * (m[1] === '-' ? -1 : 1);
  if (bc) year = 1 - year;
  return { year, rest: m[3] };
}

function typeRank(v: unknown): number {
  switch (typeof v) {
    case 'boolean': return 0;
    case 'number': case 'bigint': return 1;
    case 'string': return 2;
    default: return v instanceof Uint8Array ? 3 : 4;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length - b.length;
}

/** Two non-null values of one column, in the value model's order: numbers and bigints by value (NaN above +Infinity,
 *  as PostgreSQL), decimal strings exactly, dates/timestamps by time, other strings by code point, bytes bytewise,
 *  nested values by their JSON text. */
export function compareValues(a: unknown, b: unknown, kind: LogicalKind): number {
  const ta = typeof a, tb = typeof b;
  if ((ta === 'number' || ta === 'bigint') && (tb === 'number' || tb === 'bigint')) {
    const an = ta === 'number' && Number.isNaN(a), bn = tb === 'number' && Number.isNaN(b);
    if (an || bn) return an && bn ? 0 : an ? 1 : -1;
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
  if (ta === 'string' && tb === 'string') {
    if (kind === 'decimal') return compareDecimal(a as string, b as string);
    if (TEMPORAL.has(kind)) return compareTemporal(a as string, b as string);
    return compareCodePoints(a as string, b as string);
  }
  if (ta === 'boolean' && tb === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return compareBytes(a, b);
  const ra = typeRank(a), rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  return compareCodePoints(valueText(a), valueText(b));
}

/** A filter value (from JSON) in the column's form, so that comparisons follow the value model. */
function coerce(v: unknown, sample: unknown, kind: LogicalKind): unknown {
  if (v === null || v === undefined) return v;
  if (typeof sample === 'bigint') {
    if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
    if (typeof v === 'string' && /^[+-]?\d+$/.test(v.trim())) return BigInt(v.trim());
    if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
    return v;
  }
  if (typeof sample === 'number') {
    if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
    if (typeof v === 'string' && /^[+-]?(nan|infinity|inf)$/i.test(v.trim())) return Number(v.trim().replace(/^([+-]?)inf$/i, '$1Infinity').replace(/^nan$/i, 'NaN'));
    return v;
  }
  if (typeof sample === 'boolean') {
    if (v === 'true') return true;
    if (v === 'false') return false;
    return v;
  }
  if (typeof sample === 'string' && (kind === 'decimal' || typeof v !== 'string')) {
    if (typeof v === 'number') return Number.isFinite(v) ? exactNumberText(v) : String(v);
    return String(v);
  }
  if (sample instanceof Uint8Array && typeof v === 'string') return v;
  return v;
}
/** A JS number as plain decimal digits (no exponent). */
function exactNumberText(n: number): string {
  const s = String(n);
  if (!/e/i.test(s)) return s;
  return n.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });
}

function compileFilter(f: Filter, i: number, kind: LogicalKind, type: string): (r: unknown[]) => boolean {
  const isNull = (v: unknown) => v === null || v === undefined;
  const cmp = (cell: unknown, value: unknown): number | undefined => {
    if (isNull(cell) || isNull(value)) return undefined;
    const v = coerce(value, cell, kind);
    if (cell instanceof Uint8Array && typeof v === 'string') return compareCodePoints(valueText(cell), v.startsWith('\\x') ? v : `\\x${v}`);
    if (typeof cell === 'string' && typeof v === 'string' && kind === 'decimal') return compareDecimal(cell, v);
    if (typeof cell !== typeof v && !(typeof cell === 'number' && typeof v === 'bigint') && !(typeof cell === 'bigint' && typeof v === 'number')) {
      return compareCodePoints(valueText(cell, type), typeof v === 'string' ? v : valueText(v));
    }
    return compareValues(cell, v, kind);
  };
  switch (f.op) {
    case 'is_null': return r => isNull(r[i]);
    case 'not_null': return r => !isNull(r[i]);
    case 'contains': { const s = String(f.value ?? ''); return r => !isNull(r[i]) && valueText(r[i], type).includes(s); }
    case 'starts_with': { const s = String(f.value ?? ''); return r => !isNull(r[i]) && valueText(r[i], type).startsWith(s); }
    case 'in': {
      const vals = Array.isArray(f.value) ? f.value : [f.value];
      return r => vals.some(v => cmp(r[i], v) === 0);
    }
    default: {
      const test = { '=': (d: number) => d === 0, '!=': (d: number) => d !== 0, '<': (d: number) => d < 0, '<=': (d: number) => d <= 0, '>': (d: number) => d > 0, '>=': (d: number) => d >= 0 }[f.op];
      return r => { const d = cmp(r[i], f.value); return d !== undefined && test(d); };
    }
  }
}

// ---- statistics -----------------------------------------------------------------------------------------------

function distinctKey(v: unknown, kind: LogicalKind): string {
  switch (typeof v) {
    case 'string': return kind === 'decimal' ? `d${decimalKey(v)}` : `s${v}`;
    case 'number': return Number.isNaN(v) ? 'nNaN' : `n${v === 0 ? 0 : v}`;
    case 'bigint': return `n${v}`;
    case 'boolean': return `b${v}`;
    default: return v instanceof Uint8Array ? `x${valueText(v)}` : `j${valueText(v)}`;
  }
}

class StatsAcc {
  private count = 0;
  private nulls = 0;
  private min: unknown = null;
  private max: unknown = null;
  private counts: Map<string, { value: unknown; count: number }> | undefined = new Map();
  private seenOver = 0;
  private n = 0;
  private mean = 0;
  private m2 = 0;
  private numeric: boolean;
  constructor(private col: ColumnInfo, private kind: LogicalKind) {
    this.numeric = ['int32', 'int64', 'uint64', 'float32', 'float64', 'decimal'].includes(kind);
  }
  add(v: unknown): void {
    if (v === null || v === undefined) { this.nulls++; return; }
    this.count++;
    if (this.count === 1) { this.min = v; this.max = v; }
    else {
      if (compareValues(v, this.min, this.kind) < 0) this.min = v;
      if (compareValues(v, this.max, this.kind) > 0) this.max = v;
    }
    if (this.counts) {
      const k = distinctKey(v, this.kind);
      const c = this.counts.get(k);
      if (c) c.count++;
      else if (this.counts.size < DISTINCT_CAP) this.counts.set(k, { value: v, count: 1 });
      else { this.seenOver = this.counts.size; this.counts = undefined; }
    }
    if (this.numeric) {
      const x = typeof v === 'number' ? v : Number(v);
      if (Number.isFinite(x)) {
        this.n++;
        const d = x - this.mean;
        this.mean += d / this.n;
        this.m2 += d * (x - this.mean);
      } else if (!Number.isNaN(x) || this.numeric) {
        // NaN/±Infinity make the mean undefined as in PostgreSQL's float arithmetic
        this.n++;
        this.mean = Number.NaN;
      }
    }
  }
  result(): ColumnStats {
    const exact = !!this.counts;
    const top = exact ? [...this.counts!.values()].sort((a, b) => b.count - a.count || compareValues(a.value, b.value, this.kind)).slice(0, TOP_VALUES) : [];
    return {
      column: this.col.name, type: this.col.type, count: this.count, nulls: this.nulls,
      distinct: exact ? this.counts!.size : this.seenOver, distinctExact: exact, min: this.min, max: this.max,
      mean: this.numeric && this.n ? this.mean : undefined,
      stddev: this.numeric && this.n > 1 ? (Number.isNaN(this.mean) ? Number.NaN : Math.sqrt(this.m2 / (this.n - 1))) : undefined,
      top,
    };
  }
}
