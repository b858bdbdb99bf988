import * as path from 'node:path';
import type { CallResult } from '../core/host';
import type { TablePart } from '../core/result';
import { rowBytes } from '../core/store';

/** A table up to this many rows goes to the grid whole; a bigger one as its first rows, then windows on request. */
export const WHOLE = 10_000;
export const FIRST = 1_000;
/** Bytes of rows the recent results hold in the extension host, all together. A table the result store holds keeps
 *  only its first rows here (the grid pages the rest from the store); past this budget the oldest results let go of
 *  their rows too, so the extension's memory is bounded by this and the store's own budgets, not by what was run. */
export const HELD_BYTES = 64 * 1048576;
/** At most this many bytes of one table's first rows are held (long values make even 1,000 rows big). */
const TABLE_BYTES = 8 * 1048576;

export interface StoredResult {
  id: string;
  tool: string;
  time: number;
  result: CallResult;
  /** Where it ran, shown with the result (e.g. the connection of a query). */
  context?: string;
  /** A table preview (Data Explorer): the relation's rows (all of them, or the first max_rows, said so); a sort or a
   *  filter of a cut one runs it again on the server. */
  preview?: Preview;
  /** Runs the same tool call again (the result view offers it when the stored rows are gone). */
  rerun?: () => Promise<unknown>;
  /** A language model called the tool (its text is what the model received); else the person ran it. */
  byModel?: boolean;
  /** A query result cut at max_rows: a sort of its rows orders the rows held only, so the view offers to run the
   *  query again sorted on the server (`orderBy`: this result was produced that way). */
  querySort?: { orderBy?: QueryOrder; run: (orderBy: QueryOrder | undefined) => Promise<unknown> };
  /** A data file's first rows, opened in its custom editor (the grid says they are a preview of the file). */
  file?: string;
  /** A query whose rows are streamed into the result store: still loading (rows so far), or stopped by an error
   *  or a cancel after rows arrived (the rows received are shown, labelled with what stopped them). */
  stream?: { loading: boolean; failed?: string };
}

/** A server-side sort of a query's result by one of its columns (`index`: its position, from 0). */
export interface QueryOrder { column: string; index: number; desc: boolean }

/** What a table preview needs to run itself again sorted or filtered on the server, so a sort or a filter of a table
 *  bigger than a result may hold covers the whole table (`rows`: the most rows it asked for). `search`: the rows that
 *  contain the text in any of those columns, ignoring case. */
export interface Preview { connection: string; relation: string; rows: number; orderBy?: { column: string; desc: boolean }; search?: { text: string; columns: string[] } }

/** The most recent full results (tables, images, output), kept so the result view can open them. */
export class ResultStore {
  private items: StoredResult[] = [];
  private listeners = new Set<(r: StoredResult) => void>();
  constructor(private readonly max: number) {}

  add(tool: string, result: CallResult, context?: string, preview?: Preview, byModel = false): StoredResult {
    const r: StoredResult = { id: result.auditId, tool, time: Date.now(), result: holdFirst(result), ...(context ? { context } : {}), ...(preview ? { preview } : {}), ...(byModel ? { byModel } : {}) };
    this.items.unshift(r);
    this.items.length = Math.min(this.items.length, this.max);
    this.enforce();
    for (const l of this.listeners) l(r);
    return r;
  }

  /** Bytes of rows the recent results hold. */
  heldBytes(): number { return this.items.reduce((a, i) => a + resultBytes(i.result), 0); }

  /** Past the budget, the oldest results let go of the rows the store holds for them (then of the whole entry when
   *  its rows exist nowhere else); the newest result is never dropped. */
  private enforce(): void {
    let held = this.heldBytes();
    for (let k = this.items.length - 1; k > 0 && held > HELD_BYTES; k--) {
      const it = this.items[k];
      const before = resultBytes(it.result);
      const parts = it.result.parts.map(p => (p.kind === 'table' && p.resultId && p.rows.length ? { ...p, rows: [], storedRows: p.storedRows ?? p.rows.length } : p));
      it.result = { ...it.result, parts };
      let after = resultBytes(it.result);
      if (after > 0) { this.items.splice(k, 1); after = 0; }
      held -= before - after;
    }
  }

  get(id: string): StoredResult | undefined { return this.items.find(i => i.id === id); }
  list(): readonly StoredResult[] { return this.items; }
  onAdd(l: (r: StoredResult) => void): () => void { this.listeners.add(l); return () => this.listeners.delete(l); }
}

/** A table the result store holds keeps only its first rows (at most FIRST rows and TABLE_BYTES) when it is bigger
 *  than the grid takes whole: `storedRows` says how many the store has. */
function holdFirst(result: CallResult): CallResult {
  if (!result.parts.some(p => p.kind === 'table' && p.resultId)) return result;
  const parts = result.parts.map(p => {
    if (p.kind !== 'table' || !p.resultId) return p;
    const count = p.storedRows ?? p.rows.length;
    let keep = p.rows.length > WHOLE ? Math.min(FIRST, p.rows.length) : p.rows.length;
    let bytes = 0;
    for (let i = 0; i < keep; i++) { bytes += rowBytes(p.rows[i]); if (bytes > TABLE_BYTES) { keep = i; break; } }
    return keep === p.rows.length ? p : { ...p, rows: p.rows.slice(0, keep), storedRows: count };
  });
  return { ...result, parts };
}

const bytesOf = new WeakMap<CallResult, number>();
function resultBytes(r: CallResult): number {
  let n = bytesOf.get(r);
  if (n === undefined) {
    n = 0;
    for (const p of r.parts) if (p.kind === 'table') for (const row of (p as TablePart).rows) n += rowBytes(row);
    bytesOf.set(r, n);
  }
  return n;
}

/** The file name an export suggests (without its extension): a table preview's table, a data file's name, a query's
 *  first table (after FROM), else the tool and the time it ran (query-20260107-0930). */
export function exportName(r: Pick<StoredResult, 'tool' | 'time' | 'preview' | 'file' | 'result'>): string {
  const clean = (s: string) => s.replace(/[^\p{L}\p{N}_.-]+/gu, '_').replace(/^[._]+|_+$/g, '').slice(0, 80);
  const last = (q: string) => (q.match(/(?:"((?:[^"]|"")+)"|([^\s."]+))\s*$/) ?? [])[1]?.replace(/""/g, '"') ?? q.split('.').pop()!;
  if (r.preview) { const n = clean(last(r.preview.relation)); if (n) return r.preview.search ? `${n}-matching` : n; }
  if (r.file) { const n = clean(path.basename(r.file).replace(/\.[^.]*$/, '')); if (n) return n; }
  if (r.tool === 'execute_query') {
    const q = r.result.parts.find((p): p is TablePart => p.kind === 'table')?.title ?? '';
    // (comments and string literals cannot hide a FROM the match would take for the query's)
    const sql = q.replace(/--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'/g, ' ');
    const m = sql.match(/\bfrom\s+((?:"(?:[^"]|"")+"|[\p{L}_][\p{L}\p{N}_$]*)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[\p{L}_][\p{L}\p{N}_$]*))*)/iu);
    const n = m ? clean(last(m[1])) : '';
    if (n) return n;
  }
  const d = new Date(r.time);
  const p2 = (x: number) => String(x).padStart(2, '0');
  const stamp = `${d.getFullYear()}${p2(d.getMonth() + 1)}${p2(d.getDate())}-${p2(d.getHours())}${p2(d.getMinutes())}`;
  return `${r.tool === 'execute_query' ? 'query' : clean(r.tool) || 'result'}-${stamp}`;
}
