import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { QueryTimeout, RowTooLarge, SampleOutOfMemory, type ByteBudget, type Database, type RawResult, type Run } from './types';
import { PG_SESSION_SETTINGS } from './pgValues';

/** Where the worker script is: next to the bundle in dist/, or next to this file when run from tsc output. */
function workerScript(): string {
  for (const p of [path.join(__dirname, 'pglite-worker.js'), path.join(__dirname, 'pgliteWorker.js')]) if (fs.existsSync(p)) return p;
  throw new Error(`pglite worker script not found next to ${__dirname}`);
}

class PgError extends Error {
  readonly code?: string; readonly position?: string; readonly detail?: string; readonly hint?: string;
  constructor(f: { message: string; code?: string; position?: string; detail?: string; hint?: string }) {
    super(f.message);
    this.code = f.code; this.position = f.position; this.detail = f.detail; this.hint = f.hint;
  }
}

/** The embedded sample database in a worker thread; calls are serialised (PGlite has one connection). */
export class SampleDatabase implements Database {
  readonly kind = 'sample' as const;
  readonly label = 'sample (embedded PGlite)';
  private worker?: Promise<Worker>;
  private seq = 0;
  private pending = new Map<number, { resolve: (r: RawResult) => void; reject: (e: Error) => void }>();
  private queue: Promise<unknown> = Promise.resolve();

  /** A worker started when a cancel or timeout ended the busy one (PGlite cannot be interrupted): the next query
   *  takes this one instead of waiting for a cold start. */
  private spare?: Promise<Worker>;

  private start(): Promise<Worker> {
    if (this.worker) return this.worker;
    if (this.spare) { this.worker = this.spare; this.spare = undefined; return this.worker; }
    return (this.worker = this.spawn());
  }

  /** Memory caps of the worker: its WebAssembly memory (the database) and its JavaScript heap, MB. */
  static readonly WASM_MB = 256;
  static readonly HEAP_MB = 256;

  private spawn(): Promise<Worker> {
    // a value or result too large for these caps ends this worker (or is PostgreSQL's "out of memory"), never the host
    const w = new Worker(workerScript(), {
      workerData: { maxWasmMb: SampleDatabase.WASM_MB },
      resourceLimits: { maxOldGenerationSizeMb: SampleDatabase.HEAP_MB, maxYoungGenerationSizeMb: 32 },
    });
    w.unref();
    const p: Promise<Worker> = new Promise<Worker>((resolve, reject) => {
      const onReady = (m: { ready?: boolean; error?: string }) => {
        if (m.ready === true) { w.off('message', onReady); w.on('message', msg => this.onMessage(msg)); resolve(w); }
        else if (m.ready === false) { reject(new Error(`the sample database failed to start: ${m.error}`)); void w.terminate(); }
      };
      w.on('message', onReady);
      // only this worker's own failure clears the reference: a replacement may already be starting; a spare has no calls
      const gone = (err: Error) => {
        const e = (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new SampleOutOfMemory(`its JavaScript heap of ${SampleDatabase.HEAP_MB} MB was full`) : err;
        reject(e);
        if (this.spare === p) { this.spare = undefined; return; }
        this.failAll(e);
        if (this.worker === p) this.worker = undefined;
      };
      w.on('error', gone);
      w.on('exit', () => gone(new Error('the sample database worker stopped')));
    });
    p.catch(() => undefined);
    return p;
  }

  private onMessage(m: { id: number; error?: { message: string; code?: string; position?: string; detail?: string; hint?: string }; tooLarge?: { row: number; bytes: number; limitBytes: number } } & RawResult): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.tooLarge) p.reject(new RowTooLarge(m.tooLarge.row, m.tooLarge.bytes, m.tooLarge.limitBytes));
    else if (m.error?.code === 'WORKER_BROKEN') {
      // the WebAssembly runtime aborted (its memory cap): this worker is unusable, the next call starts another
      void this.replace();
      p.reject(new SampleOutOfMemory(m.error.message));
    } else if (m.error?.code === '53200') p.reject(new SampleOutOfMemory(`PostgreSQL: ${m.error.message}`));
    else if (m.error) p.reject(new PgError(m.error));
    else p.resolve({ fields: m.fields, rows: m.rows, stopped: m.stopped });
  }

  private budget?: ByteBudget;

  private async replace(): Promise<void> {
    const current = this.worker;
    this.worker = undefined;
    const w = await current?.catch(() => undefined);
    await w?.terminate();
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private async send(sql: string, params?: unknown[]): Promise<RawResult> {
    const w = await this.start();
    const id = ++this.seq;
    return new Promise<RawResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, sql, params, budget: this.budget });
    });
  }

  readOnly<T>(timeoutMs: number, signal: AbortSignal, fn: (run: Run) => Promise<T>, budget?: ByteBudget): Promise<T> {
    const task = this.queue.then(() => { this.budget = budget; return this.session(timeoutMs, signal, fn); });
    this.queue = task.catch(() => undefined);
    return task;
  }

  private async session<T>(timeoutMs: number, signal: AbortSignal, fn: (run: Run) => Promise<T>): Promise<T> {
    await this.start();
    let timer: NodeJS.Timeout | undefined;
    const current = this.worker;
    const kill = async () => {
      if (this.worker === current) this.worker = undefined;
      const w = await current?.catch(() => undefined);
      await w?.terminate();
      // the next query takes a worker that is already starting (not started earlier: two databases at once would
      // double the memory the sample holds)
      if (!this.spare && !this.worker) this.spare = this.spawn();
    };
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => { void kill(); reject(new QueryTimeout(timeoutMs)); }, timeoutMs);
    });
    const onAbort = () => void kill();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.send('BEGIN READ ONLY');
      for (const sql of PG_SESSION_SETTINGS) await this.send(sql); // the same value forms as PostgreSQL (pgValues.ts)
      const r = await Promise.race([fn(async (sql, params, onRows) => {
        // the embedded database answers whole: one batch
        const r = await this.send(sql, params);
        if (onRows && r.rows.length) await onRows(r.rows);
        return r;
      }), deadline]);
      await this.send('ROLLBACK');
      return r;
    } catch (e) {
      if (this.worker === current) await this.send('ROLLBACK').catch(() => kill());
      throw e;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  async dispose(): Promise<void> {
    const w = await this.worker?.catch(() => undefined);
    const spare = await this.spare?.catch(() => undefined);
    this.worker = undefined;
    this.spare = undefined;
    await w?.terminate();
    await spare?.terminate();
  }
}
