import { Client, Pool, Query, type PoolClient, type QueryConfig } from 'pg';
import type { Readable } from 'node:stream';
import { BATCH_ROWS, FIRST_BATCH_ROWS, QueryTimeout, RowTooLarge, type ByteBudget, type Database, type Field, type RawResult, type Run } from './types';
import { PG_SESSION_SQL, PG_TYPES } from './pgValues';

/** The server could not be reached or refused the login: the only errors called connection problems. */
export class ConnectionFailed extends Error {
  constructor(readonly cause: unknown) { super((cause as Error)?.message ?? String(cause)); }
}

/** Watches the backend's messages on a connection's socket before the driver parses them: the protocol frames every
 *  message as a type byte and a 4-byte length, so the size of each DataRow is known from its first 5 bytes. A row
 *  over the row budget, or a result whose rows add up past the result budget, trips the watch; the socket is then
 *  destroyed at once, so the driver never buffers the rest of the message nor builds a string from it (a 600 MB row
 *  would otherwise be read whole and then throw "Cannot create a string longer than ..." inside the driver). */
export class WireWatch {
  private head = Buffer.alloc(5);
  private headLen = 0;
  /** Bytes of the current message body still to pass. */
  private rest = 0;
  rows = 0;
  bytes = 0;
  budget?: ByteBudget;
  tripped?: { kind: 'row' | 'result'; row: number; bytes: number; limitBytes: number };

  /** Called when the watch trips (set by the call that uses the connection). */
  onTrip?: () => void;

  constructor(private readonly stream: Readable & { destroy(): void }) {
    stream.prependListener('data', (chunk: Buffer) => this.feed(chunk));
  }

  /** Starts counting a new statement's rows under `budget` (undefined: count nothing). */
  arm(budget: ByteBudget | undefined): void { this.rows = 0; this.bytes = 0; this.budget = budget; this.tripped = undefined; }

  private feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.tripped) {
      if (this.rest > 0) {
        const n = Math.min(this.rest, chunk.length - i);
        this.rest -= n; i += n;
        continue;
      }
      const n = Math.min(5 - this.headLen, chunk.length - i);
      chunk.copy(this.head, this.headLen, i, i + n);
      this.headLen += n; i += n;
      if (this.headLen < 5) return;
      this.headLen = 0;
      const len = this.head.readUInt32BE(1); // includes the length field itself
      this.rest = Math.max(0, len - 4);
      if (this.head[0] === 0x44 /* 'D' DataRow */ && this.budget) {
        this.rows++;
        const size = len + 1;
        if (size > this.budget.maxRowBytes) this.trip({ kind: 'row', row: this.rows, bytes: size, limitBytes: this.budget.maxRowBytes });
        else if (this.bytes + size > this.budget.maxResultBytes) this.trip({ kind: 'result', row: this.rows, bytes: this.bytes, limitBytes: this.budget.maxResultBytes });
        else this.bytes += size;
      }
    }
  }

  private trip(t: NonNullable<WireWatch['tripped']>): void {
    this.tripped = t;
    // the driver's listener still sees this chunk (at most one socket read), never the rest of the message
    this.stream.destroy();
    this.onTrip?.();
  }
}

const watches = new WeakMap<PoolClient, WireWatch>();

/** A PostgreSQL server through `pg`: a small pool with an idle timeout; every call in a read-only transaction. */
export class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;
  readonly label: string;
  private readonly pool: Pool;

  constructor(private readonly connectionString: string) {
    this.pool = new Pool({ connectionString, max: 4, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000, application_name: 'datatools' });
    // an idle client that dies (server restart) must not crash the host
    this.pool.on('error', () => undefined);
    let label = 'postgres';
    try { const u = new URL(connectionString); label = `postgres ${u.hostname}:${u.port || 5432}${u.pathname}`; } catch { /* keyword form */ }
    this.label = label;
  }

  async readOnly<T>(timeoutMs: number, signal: AbortSignal, fn: (run: Run) => Promise<T>, budget?: ByteBudget): Promise<T> {
    const started = performance.now();
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw new ConnectionFailed(e);
    }
    let discard = false;
    let timer: NodeJS.Timeout | undefined;
    let watch = watches.get(client);
    if (!watch) {
      // attached once, while the connection is idle (between whole messages); the connection it watches is discarded
      // when it trips, so a watch never has to find its way back into the framing
      const stream = (client as unknown as { connection: { stream: Readable & { destroy(): void } } }).connection.stream;
      watch = new WireWatch(stream);
      watches.set(client, watch);
      // a destroyed socket is reported as an 'error' event on the client; it is handled through the query
      client.on('error', () => undefined);
    }
    const w = watch;
    const c = client;
    w.onTrip = () => { discard = true; void this.cancel(c); };
    const run: Run = async (sql, params, onRows) => {
      // the extended protocol: Parse accepts exactly one statement, so text that lexes as two is a server error,
      // never a second statement; values parsed from the server's text without JS Date or float (pgValues.ts)
      w.arm(budget);
      const q = new Query({ text: sql, values: params, rowMode: 'array', queryMode: 'extended', types: PG_TYPES } as QueryConfig);
      const fieldsOf = (fs: { name: string; dataTypeID: number; dataTypeModifier: number }[]): Field[] =>
        fs.map(f => ({ name: f.name, dataTypeID: f.dataTypeID, typeMod: f.dataTypeModifier }));
      // streamed: the rows are collected here as each DataRow is parsed (the driver then keeps none itself)
      const own: unknown[][] | undefined = onRows ? [] : undefined;
      let sent = 0;
      const flush = () => {
        if (!own || sent >= own.length) return;
        const batch = own.slice(sent);
        sent = own.length;
        const wait = onRows!(batch);
        if (wait) {
          // the consumer asks for a pause (backpressure): the socket is not read until it is done; the deadline still runs
          const sock = (client as unknown as { connection: { stream: Readable } }).connection.stream;
          sock.pause();
          void wait.catch(() => undefined).finally(() => sock.resume());
        }
      };
      if (own) {
        q.on('row', (row: unknown[]) => {
          // rows at or past the one that tripped the byte budget are never kept (the driver may still parse the
          // rest of the socket read in which the watch tripped)
          if (w.tripped && own.length >= w.tripped.row - 1) return;
          own.push(row);
          if (own.length - sent >= (sent === 0 ? FIRST_BATCH_ROWS : BATCH_ROWS)) flush();
        });
      }
      try {
        const r = await new Promise<{ fields: { name: string; dataTypeID: number; dataTypeModifier: number }[]; rows: unknown[][] }>((resolve, reject) => {
          q.on('end', resolve);
          q.on('error', reject);
          client.query(q);
        });
        flush();
        return { fields: fieldsOf(r.fields), rows: own ?? r.rows };
      } catch (e) {
        const t = w.tripped;
        if (!t) {
          // the rows that arrived whole before the error are handed over too (the caller says what stopped them)
          flush();
          throw e;
        }
        if (t.kind === 'row') throw new RowTooLarge(t.row, t.bytes, t.limitBytes);
        // the rows before the one that would pass the budget are whole and parsed: keep them, and say where it stopped
        const partial = (q as unknown as { _result: { fields: { name: string; dataTypeID: number; dataTypeModifier: number }[]; rows: unknown[][] } })._result;
        const rows = (own ?? partial.rows).slice(0, t.row - 1);
        if (own) { own.length = rows.length; flush(); }
        const out: RawResult = { fields: fieldsOf(partial.fields), rows, stopped: { atRow: t.row, bytes: t.bytes, limitBytes: t.limitBytes } };
        return out;
      } finally {
        w.arm(undefined);
      }
    };
    const onAbort = () => { discard = true; void this.cancel(client); };
    try {
      // one round trip (our own fixed text, simple protocol); values in fixed, zone-free text forms (pgValues.ts)
      await client.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${Math.max(1, Math.round(timeoutMs))}; SET LOCAL idle_in_transaction_session_timeout = ${Math.max(1000, Math.round(timeoutMs) + 5000)}; ${PG_SESSION_SQL}`);
      signal.addEventListener('abort', onAbort, { once: true });
      const deadline = new Promise<never>((_, reject) => {
        // one deadline for the whole call, rows received and parsed included: the server's statement_timeout
        // normally fires first; this catches a stuck server or network, or rows that take long to arrive
        timer = setTimeout(() => { discard = true; void this.cancel(client); reject(new QueryTimeout(timeoutMs)); }, Math.max(1, timeoutMs + 1000 - (performance.now() - started)));
      });
      const result = await Promise.race([fn(run), deadline]);
      if (discard) return result; // stopped at the byte budget: the connection is gone, nothing to roll back
      await client.query('ROLLBACK');
      return result;
    } catch (e) {
      if (!discard) {
        try { await client.query('ROLLBACK'); } catch { discard = true; }
      }
      if ((e as { code?: string }).code === '57014') throw new QueryTimeout(timeoutMs); // query_canceled
      throw e;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      // a connection whose state is uncertain is closed, never returned to the pool
      client.release(discard ? new Error('discarded') : undefined);
    }
  }

  private async cancel(client: PoolClient): Promise<void> {
    const pid = (client as unknown as { processID?: number }).processID;
    if (!pid) return;
    const c = new Client({ connectionString: this.connectionString, connectionTimeoutMillis: 5000 });
    try {
      await c.connect();
      await c.query('SELECT pg_cancel_backend($1)', [pid]);
    } catch { /* the connection is discarded anyway */ } finally { await c.end().catch(() => undefined); }
  }

  async dispose(): Promise<void> { await this.pool.end().catch(() => undefined); }
}
