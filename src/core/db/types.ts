import type { Disposable } from '../services';

/** typeMod: the column's type modifier (e.g. numeric(15,2)), -1 or absent when it has none. */
export interface Field { name: string; dataTypeID: number; typeMod?: number; /** The engine's own type name (DuckDB), when it has no type catalog to ask. */ typeName?: string }
export interface RawResult {
  fields: Field[];
  rows: unknown[][];
  /** Set when the rows stopped early at the byte budget of one result: `rows` holds the rows before row `atRow`. */
  stopped?: { atRow: number; bytes: number; limitBytes: number };
}

/** Byte budgets on what one statement may bring into this process, counted on the wire before any string is built. */
export interface ByteBudget { maxRowBytes: number; maxResultBytes: number }

/** Runs one statement with the extended protocol (one statement per message), rows as arrays. With `onRows`, the
 *  rows are also handed over in batches as they arrive (the first batch early, at ~1,000 rows); the batches
 *  concatenate to exactly the returned `rows` (a backend that cannot stream calls it once with all rows). */
export type Run = (sql: string, params?: unknown[], onRows?: RowSink) => Promise<RawResult>;

/** Receives streamed rows; a returned promise pauses the reading of further rows until it settles (backpressure,
 *  e.g. while the first rows are put on screen). */
export type RowSink = (batch: unknown[][]) => void | Promise<void>;

/** Rows in the first streamed batch, and in each later one. */
export const FIRST_BATCH_ROWS = 1_000;
export const BATCH_ROWS = 20_000;

export interface Database extends Disposable {
  /** e.g. "sample (embedded PGlite)" or "postgres 127.0.0.1:5432/analytics". */
  readonly label: string;
  readonly kind: 'postgres' | 'sample' | 'duckdb';
  /** Runs `fn` inside BEGIN READ ONLY ... ROLLBACK with a server statement timeout and a client deadline that
   *  cancels the statement on the server and discards the connection. */
  readOnly<T>(timeoutMs: number, signal: AbortSignal, fn: (run: Run) => Promise<T>, budget?: ByteBudget): Promise<T>;
}

export class QueryTimeout extends Error {
  constructor(readonly timeoutMs: number) { super(`timed out after ${timeoutMs / 1000} s`); }
}

/** One row of a result is over the per-row byte budget: refused before it was read into memory. */
export class RowTooLarge extends Error {
  constructor(readonly row: number, readonly bytes: number, readonly limitBytes: number) {
    super(`row ${row} is ${bytes} bytes, over the ${limitBytes}-byte limit on one row`);
  }
}

/** The sample database's worker ran out of its memory (a value or result too large for it). */
export class SampleOutOfMemory extends Error {
  constructor(detail: string) { super(`the sample database ran out of memory (${detail})`); }
}
