import type { Disposable } from '../services';

/** typeMod: the column's type modifier (e.g. numeric(15,2)), -1 or absent when it has none. */
export interface Field { name: string; dataTypeID: number; typeMod?: number }
export interface RawResult { fields: Field[]; rows: unknown[][] }

/** Runs one statement with the extended protocol (one statement per message), rows as arrays. */
export type Run = (sql: string, params?: unknown[]) => Promise<RawResult>;

export interface Database extends Disposable {
  /** e.g. "sample (embedded PGlite)" or "postgres 127.0.0.1:5432/analytics". */
  readonly label: string;
  readonly kind: 'postgres' | 'sample';
  /** Runs `fn` inside BEGIN READ ONLY ... ROLLBACK with a server statement timeout and a client deadline that
   *  cancels the statement on the server and discards the connection. */
  readOnly<T>(timeoutMs: number, signal: AbortSignal, fn: (run: Run) => Promise<T>): Promise<T>;
}

export class QueryTimeout extends Error {
  constructor(readonly timeoutMs: number) { super(`timed out after ${timeoutMs / 1000} s`); }
}
