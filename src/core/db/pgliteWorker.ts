// Worker thread holding the embedded sample database (PGlite = PostgreSQL in WebAssembly). PGlite does not
// enforce statement_timeout, so the main thread ends this worker on a timeout and starts a fresh one.
//
// Bounded memory: the WebAssembly memory of the database is capped (PGlite asks for up to 2 GB; here a value or
// sort too large for the cap is PostgreSQL's own "out of memory" error), the worker's JavaScript heap is capped by
// the main thread (resourceLimits), and rows are counted in bytes before they are sent back: a row over the row
// budget is refused and a result over the result budget is cut, as for a PostgreSQL server.
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { SAMPLE_SQL } from './sampleData';
import { PG_PARSERS } from './pgValues';

const PAGE = 64 * 1024;
const maxWasmMb = Number((workerData as { maxWasmMb?: number } | undefined)?.maxWasmMb ?? 512);
{
  const Original = WebAssembly.Memory;
  const maxPages = Math.floor((maxWasmMb * 1024 * 1024) / PAGE);
  const Capped = function (this: unknown, d: WebAssembly.MemoryDescriptor) {
    const desc = d.maximum !== undefined && d.maximum > maxPages ? { ...d, maximum: Math.max(d.initial, maxPages) } : d;
    return new Original(desc);
  } as unknown as typeof WebAssembly.Memory;
  (Capped as unknown as { prototype: unknown }).prototype = Original.prototype;
  (WebAssembly as { Memory: typeof WebAssembly.Memory }).Memory = Capped;
}

interface Budget { maxRowBytes: number; maxResultBytes: number }

/** Bytes a value takes, about as it would on the wire (text of a string, bytes of a bytea). */
function sizeOf(v: unknown): number {
  if (v === null || v === undefined) return 4;
  if (typeof v === 'string') return 4 + v.length;
  if (v instanceof Uint8Array) return 4 + v.byteLength;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + sizeOf(x), 4);
  return 12;
}

/** Where the built sample database is kept between runs: a fresh PGlite runs initdb in a second WebAssembly module
 *  (about 7 s and 750 MB at its peak); loading the data directory it produced takes about 2 s and half the memory.
 *  The name holds a hash of the sample's SQL, so a change builds it again; a directory another PGlite cannot load
 *  (a new PostgreSQL major version) fails to open and is built again too. */
function cacheFile(): string | undefined {
  try {
    const hash = createHash('sha256').update(SAMPLE_SQL).digest('hex').slice(0, 16);
    const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
    return path.join(base, 'datatools', `sample-${hash}.tar.gz`);
  } catch { return undefined; }
}

async function open(): Promise<PGlite> {
  const file = cacheFile();
  if (file && fs.existsSync(file)) {
    try {
      const db = await PGlite.create({ loadDataDir: new Blob([fs.readFileSync(file)]) });
      await db.query('SELECT 1 FROM pg_catalog.pg_class LIMIT 1');
      return db;
    } catch { /* a damaged cache: build it again */ }
  }
  const db = await PGlite.create();
  await db.exec(SAMPLE_SQL);
  if (file) {
    try {
      const dump = Buffer.from(await (await db.dumpDataDir('gzip')).arrayBuffer());
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, dump, { mode: 0o600 });
      fs.renameSync(tmp, file);
    } catch { /* no cache: the next start builds it again */ }
  }
  return db;
}

async function main(): Promise<void> {
  const port = parentPort!;
  let db: PGlite;
  try {
    db = await open();
  } catch (e) {
    port.postMessage({ ready: false, error: (e as Error).message });
    return;
  }
  port.on('message', async (m: { id: number; sql: string; params?: unknown[]; budget?: Budget }) => {
    try {
      const r = await db.query<unknown[]>(m.sql, m.params ?? [], { rowMode: 'array', parsers: PG_PARSERS });
      const fields = r.fields.map(f => ({ name: f.name, dataTypeID: f.dataTypeID }));
      let rows = r.rows;
      let stopped: { atRow: number; bytes: number; limitBytes: number } | undefined;
      if (m.budget) {
        let total = 0;
        for (let i = 0; i < rows.length; i++) {
          const size = sizeOf(rows[i]) + 7;
          if (size > m.budget.maxRowBytes) {
            port.postMessage({ id: m.id, tooLarge: { row: i + 1, bytes: size, limitBytes: m.budget.maxRowBytes } });
            return;
          }
          if (total + size > m.budget.maxResultBytes) {
            stopped = { atRow: i + 1, bytes: total, limitBytes: m.budget.maxResultBytes };
            rows = rows.slice(0, i);
            break;
          }
          total += size;
        }
      }
      port.postMessage({ id: m.id, fields, rows, stopped });
    } catch (e) {
      // PostgreSQL's errors carry a SQLSTATE and the fields it sends (position, detail, hint: the error says where and
      // why); anything else (the WebAssembly runtime aborted) leaves the database unusable: say so, and let the main
      // thread replace this worker
      const err = e as { message: string; code?: string; position?: string; detail?: string; hint?: string };
      if (!err.code) {
        port.postMessage({ id: m.id, error: { message: String(err.message ?? e), code: 'WORKER_BROKEN' } });
        return;
      }
      port.postMessage({ id: m.id, error: { message: err.message, code: err.code, position: err.position, detail: err.detail, hint: err.hint } });
    }
  });
  port.postMessage({ ready: true });
}
void main();
