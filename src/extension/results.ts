import type { CallResult } from '../core/host';

export interface StoredResult {
  id: string;
  tool: string;
  time: number;
  result: CallResult;
  /** Where it ran, shown with the result (e.g. the connection of a query). */
  context?: string;
  /** A table preview (Data Explorer): it holds the first rows of the relation; a sort re-runs it on the server. */
  preview?: Preview;
  /** Runs the same tool call again (the result view offers it when the stored rows are gone). */
  rerun?: () => Promise<unknown>;
  /** A language model called the tool (its text is what the model received); else the person ran it. */
  byModel?: boolean;
  /** A data file's first rows, opened in its custom editor (the grid says they are a preview of the file). */
  file?: string;
  /** A query whose rows are streamed into the result store: still loading (rows so far), or stopped by an error
   *  or a cancel after rows arrived (the rows received are shown, labelled with what stopped them). */
  stream?: { loading: boolean; failed?: string };
}

/** What a table preview needs to re-run itself sorted on the server, so a sort orders the whole table. */
export interface Preview { connection: string; relation: string; rows: number; orderBy?: { column: string; desc: boolean } }

/** The most recent full results (tables, images, output), kept so the result view can open them. */
export class ResultStore {
  private items: StoredResult[] = [];
  private listeners = new Set<(r: StoredResult) => void>();
  constructor(private readonly max: number) {}

  add(tool: string, result: CallResult, context?: string, preview?: Preview, byModel = false): StoredResult {
    const r: StoredResult = { id: result.auditId, tool, time: Date.now(), result, ...(context ? { context } : {}), ...(preview ? { preview } : {}), ...(byModel ? { byModel } : {}) };
    this.items.unshift(r);
    this.items.length = Math.min(this.items.length, this.max);
    for (const l of this.listeners) l(r);
    return r;
  }

  get(id: string): StoredResult | undefined { return this.items.find(i => i.id === id); }
  list(): readonly StoredResult[] { return this.items; }
  onAdd(l: (r: StoredResult) => void): () => void { this.listeners.add(l); return () => this.listeners.delete(l); }
}
