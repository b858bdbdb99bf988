// Worker thread holding the embedded sample database (PGlite = PostgreSQL in WebAssembly). PGlite does not
// enforce statement_timeout, so the main thread ends this worker on a timeout and starts a fresh one.
import { parentPort } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { SAMPLE_SQL } from './sampleData';
import { PG_PARSERS } from './pgValues';

async function main(): Promise<void> {
  const port = parentPort!;
  let db: PGlite;
  try {
    db = await PGlite.create();
    await db.exec(SAMPLE_SQL);
  } catch (e) {
    port.postMessage({ ready: false, error: (e as Error).message });
    return;
  }
  port.on('message', async (m: { id: number; sql: string; params?: unknown[] }) => {
    try {
      const r = await db.query<unknown[]>(m.sql, m.params ?? [], { rowMode: 'array', parsers: PG_PARSERS });
      port.postMessage({ id: m.id, fields: r.fields.map(f => ({ name: f.name, dataTypeID: f.dataTypeID })), rows: r.rows });
    } catch (e) {
      // the fields PostgreSQL sends, so the error says where in the query it is (position) and why (detail, hint)
      const err = e as { message: string; code?: string; position?: string; detail?: string; hint?: string };
      port.postMessage({ id: m.id, error: { message: err.message, code: err.code, position: err.position, detail: err.detail, hint: err.hint } });
    }
  });
  port.postMessage({ ready: true });
}
void main();
