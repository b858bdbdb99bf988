import { Client, Pool, type PoolClient, type QueryConfig } from 'pg';
import { QueryTimeout, type Database, type Run } from './types';
import { PG_SESSION_SQL, PG_TYPES } from './pgValues';

/** The server could not be reached or refused the login: the only errors called connection problems. */
export class ConnectionFailed extends Error {
  constructor(readonly cause: unknown) { super((cause as Error)?.message ?? String(cause)); }
}

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

  async readOnly<T>(timeoutMs: number, signal: AbortSignal, fn: (run: Run) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw new ConnectionFailed(e);
    }
    let discard = false;
    let timer: NodeJS.Timeout | undefined;
    const run: Run = async (sql, params) => {
      // the extended protocol: Parse accepts exactly one statement, so text that lexes as two is a server error,
      // never a second statement; values parsed from the server's text without JS Date or float (pgValues.ts)
      const r = await client.query({ text: sql, values: params, rowMode: 'array', queryMode: 'extended', types: PG_TYPES } as QueryConfig);
      return { fields: r.fields.map(f => ({ name: f.name, dataTypeID: f.dataTypeID, typeMod: f.dataTypeModifier })), rows: r.rows as unknown[][] };
    };
    const onAbort = () => { discard = true; void this.cancel(client); };
    try {
      // one round trip (our own fixed text, simple protocol); values in fixed, zone-free text forms (pgValues.ts)
      await client.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${Math.max(1, Math.round(timeoutMs))}; SET LOCAL idle_in_transaction_session_timeout = ${Math.max(1000, Math.round(timeoutMs) + 5000)}; ${PG_SESSION_SQL}`);
      signal.addEventListener('abort', onAbort, { once: true });
      const deadline = new Promise<never>((_, reject) => {
        // the server's statement_timeout normally fires first; this catches a stuck server or network
        timer = setTimeout(() => { discard = true; void this.cancel(client); reject(new QueryTimeout(timeoutMs)); }, timeoutMs + 2000);
      });
      const result = await Promise.race([fn(run), deadline]);
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
