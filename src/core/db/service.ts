import * as path from 'node:path';
import type { DataToolsConfig } from '../config';
import { ToolError, type ColumnInfo } from '../result';
import type { ToolContext } from '../tool';
import { DEFAULT_DENIED_FUNCTIONS, FunctionCatalog, checkFunctions, checkQuery, lineCol, loadParser, selectStatement, type FunctionRef } from './guard';
import { ConnectionFailed, PostgresDatabase } from './postgres';
import { SampleDatabase } from './sample';
import { DuckDBDatabase, duckError, isDuckUrl } from './duckdb';
import { runDuckQuery } from './duckdbQuery';
import { PathPolicy } from '../storage/paths';
import { QueryTimeout, RowTooLarge, SampleOutOfMemory, type ByteBudget, type Database, type Field, type RowSink, type Run } from './types';
import type { Limits } from '../config';

export const SAMPLE_CONNECTION = 'sample';

/** Picks the connection: a named one, else DATABASE_URL, else the embedded sample. */
export function connectionFor(cfg: DataToolsConfig, requested?: string): { key: string; url?: string } {
  const name = requested ?? cfg.activeConnection;
  if (name === 'default' && cfg.databaseUrl) return { key: 'default', url: cfg.databaseUrl };
  if (name === SAMPLE_CONNECTION) return { key: SAMPLE_CONNECTION };
  if (name) {
    const c = cfg.connections.find(x => x.name === name);
    if (!c) throw new ToolError(`There is no connection named "${name}". Known: ${[SAMPLE_CONNECTION, ...(cfg.databaseUrl ? ['default'] : []), ...cfg.connections.map(x => x.name)].join(', ')}.`);
    if (name !== 'default' || !cfg.databaseUrl) return { key: `named:${c.name}`, url: c.url };
  }
  if (cfg.databaseUrl) return { key: 'default', url: cfg.databaseUrl };
  return { key: SAMPLE_CONNECTION };
}

export function getDatabase(ctx: ToolContext, name?: string): Promise<Database> {
  const c = connectionFor(ctx.config, name);
  return ctx.services.get(`db:${c.key}`, async () => (isDuckUrl(c.url)
    ? new DuckDBDatabase(c.url!, new PathPolicy(ctx.config.allowedPaths, 0).realRoots())
    : c.url ? new PostgresDatabase(c.url) : new SampleDatabase()));
}

/** Per-connection state: the function catalog and type names, read once per server session. */
interface SessionInfo { catalog?: Promise<FunctionCatalog>; types: Map<string, string> }
const sessions = new WeakMap<Database, Map<string, SessionInfo>>();

/** The lexing settings the guard's parser assumes (PostgreSQL's defaults). A database or role may change them
 *  (`ALTER DATABASE ... SET standard_conforming_strings = off`); then the server would read string literals
 *  differently from the guard. They are pinned with SET LOCAL in every call and checked. */
export const PINNED_SETTINGS: readonly [string, string][] = [
  ['standard_conforming_strings', 'on'], ['backslash_quote', 'safe_encoding'], ['escape_string_warning', 'on'],
];

/** Pins the settings for this transaction, checks they took (and that the client encoding is UTF8, as the guard
 *  reads it), and returns the state cached for this server session. */
export async function pinSession(db: Database, run: Run, timeoutMs: number): Promise<SessionInfo> {
  const r = await run(`SELECT ${PINNED_SETTINGS.map(([k, v]) => `pg_catalog.set_config('${k}', '${v}', true)`).join(', ')},
      pg_catalog.set_config('statement_timeout', $1, true), pg_catalog.current_setting('client_encoding'),
      pg_catalog.pg_backend_pid()::text, pg_catalog.pg_postmaster_start_time()::text`, [String(Math.max(1, Math.round(timeoutMs)))]);
  const got = (r.rows[0] ?? []) as string[];
  PINNED_SETTINGS.forEach(([k, v], i) => {
    if (got[i] !== v) throw new ToolError(`Refused: the session setting ${k} could not be pinned to ${v} (the server reports ${got[i] ?? 'nothing'}); without it the server could read the query differently from the read-only check. Ask the database administrator.`);
  });
  const enc = got[PINNED_SETTINGS.length + 1];
  if (enc !== 'UTF8') throw new ToolError(`Refused: the connection's client_encoding is ${enc}, not UTF8; the read-only check reads queries as UTF-8.`);
  const key = `${got[PINNED_SETTINGS.length + 2]}@${got[PINNED_SETTINGS.length + 3]}`;
  let byDb = sessions.get(db);
  if (!byDb) sessions.set(db, byDb = new Map());
  let info = byDb.get(key);
  if (!info) {
    if (byDb.size >= 64) byDb.delete(byDb.keys().next().value as string);
    byDb.set(key, info = { types: new Map() });
  }
  return info;
}

/** The function catalog of this server session: the search path and volatile operators once per connection,
 *  then the functions of each name the first time a query calls it (cached for the connection's life). */
export async function sessionCatalog(info: SessionInfo, run: Run, refs: FunctionRef[]): Promise<FunctionCatalog> {
  if (!info.catalog) {
    info.catalog = (async () => {
      const [sp, ops] = [await run(FunctionCatalog.SQL.searchPath), await run(FunctionCatalog.SQL.volatileOps)];
      return new FunctionCatalog(sp.rows.map(x => String(x[0])), [], ops.rows, [], []);
    })();
    info.catalog.catch(() => { info.catalog = undefined; });
  }
  const cat = await info.catalog;
  const names = cat.missing(refs);
  if (names.length) {
    const r = await run(FunctionCatalog.SQL.byName, [names]);
    cat.add(r.rows.filter(x => x[0] === 'f').map(x => x.slice(1)), r.rows.filter(x => x[0] === 't').map(x => x.slice(1)), names);
  }
  return cat;
}

/** Type names for the result's columns, read from the server's own catalog with each column's modifier
 *  (`numeric(15,2)`, `character varying(40)`, `timestamp(3) ...`), cached per session. */
async function typeNames(run: Run, fields: Field[], cache: Map<string, string>): Promise<ColumnInfo[]> {
  const key = (f: Field) => `${f.dataTypeID}:${f.typeMod ?? -1}`;
  const todo = [...new Map(fields.filter(f => !cache.has(key(f))).map(f => [key(f), f])).values()];
  if (todo.length) {
    const r = await run(`SELECT x.o::int4, x.m, pg_catalog.format_type(x.o, NULLIF(x.m, -1))
       FROM unnest($1::oid[], $2::int4[]) AS x(o, m)`, [todo.map(f => f.dataTypeID), todo.map(f => f.typeMod ?? -1)]);
    for (const [oid, mod, name] of r.rows as [number, number, string | null][]) if (name !== null) cache.set(`${Number(oid)}:${Number(mod)}`, name);
  }
  return fields.map(f => ({ name: f.name, type: cache.get(key(f)) ?? `oid ${f.dataTypeID}` }));
}

export interface QueryOutput {
  columns: ColumnInfo[];
  rows: unknown[][];
  truncated: boolean;
  elapsedMs: number;
  statement: string;
  /** Set when the rows stopped at the byte budget of one result (before max_rows). */
  stopped?: { atRow: number; limitBytes: number };
  /** The exact number of rows of the whole result, when known (complete, or counted on request). */
  total?: number;
  /** Why a requested count is missing (timed out, not a SELECT, connection ended at the byte budget). */
  countNote?: string;
}

/** The byte budgets of the configuration, in bytes. */
export function byteBudget(l: Limits): ByteBudget {
  return { maxRowBytes: Math.round(l.maxRowMb * 1024 * 1024), maxResultBytes: Math.round(l.maxResultMb * 1024 * 1024) };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 })} MB`;
const WHAT_TO_DO = 'Select a part of long values with left(col, n) or substr(col, from, n), check their sizes with octet_length(col), or select fewer columns or rows (WHERE, LIMIT, aggregate)';

interface PgErrorFields { message?: string; code?: string; position?: string; hint?: string; detail?: string; where?: string; severity?: string; internalQuery?: string; internalPosition?: string }

/** An error PostgreSQL raised for the user's query, with its position already relative to the user's text. */
class QueryError extends Error {
  constructor(readonly pg: PgErrorFields, readonly userPosition: number | undefined, readonly query: string) { super(pg.message); }
  /** The SQLSTATE, so the session layer still sees a cancellation (57014) as a timeout. */
  get code(): string | undefined { return this.pg.code; }
}

/** Reports a database error as PostgreSQL reports it (SQLSTATE, message, position in the user's SQL, detail,
 *  hint); only a failure to reach or log in to the server is called a connection problem. Never leaks the
 *  connection string. */
export function dbError(e: unknown, timeoutSec: number): ToolError {
  if (e instanceof ToolError) return e;
  if (e instanceof QueryTimeout) {
    return new ToolError(`The query was stopped after its ${timeoutSec} s timeout and cancelled on the server. Make it cheaper (filter, aggregate, LIMIT) or pass a larger timeout.`);
  }
  if (e instanceof RowTooLarge) {
    return new ToolError(`Refused: row ${e.row.toLocaleString('en-US')} of the result is ${mb(e.bytes)}, over the ${mb(e.limitBytes)} limit on one row (DATATOOLS_MAX_ROW_MB). The query was stopped and cancelled on the server before that row was read into memory. ${WHAT_TO_DO}.`);
  }
  if (e instanceof SampleOutOfMemory) {
    return new ToolError(`Refused: ${e.message}; the query was stopped. The embedded sample database is small: its memory is capped at ${SampleDatabase.WASM_MB} MB for the database and ${SampleDatabase.HEAP_MB} MB for its results. ${WHAT_TO_DO}.`);
  }
  if (e instanceof ConnectionFailed) {
    const c = e.cause as PgErrorFields;
    return new ToolError(`Cannot connect to the database: ${c?.message ?? e.message}${c?.code ? ` (${c.code})` : ''}. Check the connection settings (DATABASE_URL or the connection in the Data view).`);
  }
  const q = e instanceof QueryError ? e : undefined;
  const err: PgErrorFields = q ? q.pg : (e as PgErrorFields);
  const code = err.code;
  if (!code || !/^[0-9A-Z]{5}$/.test(code)) {
    // not from PostgreSQL: the driver or the network
    if (code && /^E[A-Z]+$/.test(code)) return new ToolError(`The connection to the database failed during the query: ${err.message} (${code}). Try again.`);
    return new ToolError(`The query failed: ${err.message ?? String(e)}.`);
  }
  const at = q?.userPosition ? ` at character ${q.userPosition} (${lineCol(q.query, q.userPosition)}) of the query` : '';
  const extra = [err.detail ? `Detail: ${err.detail}` : '', err.hint ? `Hint: ${err.hint}` : '', err.where ? `Context: ${err.where}` : ''].filter(Boolean).join(' ');
  const text = `PostgreSQL ${err.severity ?? 'ERROR'} ${code}: ${err.message}${at}.${extra ? ` ${extra}` : ''}`;
  if (code === '25006') return new ToolError(`${text} This tool is read-only.`);
  return new ToolError(text);
}

const WRAP_PREFIX = 'SELECT * FROM (';

export interface QueryInput { query: string; params?: unknown[]; maxRows: number; timeoutSec: number; connection?: string; count?: boolean }

export async function runQuery(ctx: ToolContext, o: QueryInput): Promise<QueryOutput> {
  if (isDuckUrl(connectionFor(ctx.config, o.connection).url)) {
    const db = await getDatabase(ctx, o.connection);
    return runDuckQuery(ctx, db as DuckDBDatabase, o);
  }
  await loadParser();
  const policy = {
    deniedFunctions: ctx.config.deniedFunctions ?? DEFAULT_DENIED_FUNCTIONS,
    allowedFunctions: ctx.config.allowedFunctions,
    timeoutSec: o.timeoutSec,
  };
  let verdict: ReturnType<typeof checkQuery>;
  try {
    verdict = checkQuery(o.query, policy);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new ToolError('Refused: the query is nested too deeply for the read-only check to read it (for example thousands of terms chained with + or AND). Write it flatter: an IN list or = ANY($1) with an array, or several smaller queries.');
  }
  if (!verdict.ok) throw new ToolError(`Refused: ${verdict.reason}`);
  const db = await getDatabase(ctx, o.connection);
  const timeoutMs = Math.round(o.timeoutSec * 1000);
  const started = performance.now();
  try {
    return await db.readOnly(timeoutMs, ctx.signal, async run => {
      const session = await pinSession(db, run, timeoutMs);
      const refusal = checkFunctions(verdict.refs, await sessionCatalog(session, run, verdict.refs), policy);
      if (refusal) throw new ToolError(`Refused: ${refusal.reason}`);
      // A SELECT runs as one statement with the row limit in it: no cursor, so PostgreSQL may plan it in parallel,
      // and at most max_rows + 1 rows ever reach this process. Everything else runs as written.
      let sql = o.query;
      let shift = 0;
      if (verdict.kind === 'select') {
        sql = `${WRAP_PREFIX}${verdict.statement}\n) AS q LIMIT ${o.maxRows + 1}`;
        shift = WRAP_PREFIX.length - verdict.statementOffset;
      }
      // streamed to the front end (rows as they arrive) and as progress (rows so far): the columns first, from the
      // statement with no rows (its types named now: no other statement can run on the connection mid-stream)
      /** A PostgreSQL error as the person's query has it: its position moved back past the wrapper, and dropped when
       *  it points outside the query (anything that is not a PostgreSQL error is passed on as is). */
      const toQueryError = (e: unknown): unknown => {
        const pg = e as PgErrorFields;
        if (!pg?.code) return e;
        let pos = pg.position ? Number(pg.position) - shift : undefined;
        if (pos !== undefined && (pos < 1 || pos > [...o.query].length)) pos = undefined;
        return new QueryError(pg, pos, o.query);
      };
      let onRows: RowSink | undefined;
      if (verdict.kind === 'select' && (ctx.onRows || ctx.onProgress)) {
        let columns: ColumnInfo[] = [];
        try {
          if (ctx.onRows) columns = await typeNames(run, (await run(`${WRAP_PREFIX}${verdict.statement}\n) AS q LIMIT 0`, o.params)).fields, session.types);
        } catch (e) {
          throw toQueryError(e);
        }
        let n = 0;
        onRows = batch => {
          // the row past max_rows only says there are more: never shown
          const take = n + batch.length > o.maxRows ? batch.slice(0, Math.max(0, o.maxRows - n)) : batch;
          n += take.length;
          if (!take.length) return;
          ctx.onProgress?.({ kind: 'status', text: `${n.toLocaleString('en-US')} rows received` });
          return ctx.onRows?.({ columns, rows: take });
        };
      }
      let r;
      try {
        r = await run(sql, o.params, onRows);
      } catch (e) {
        throw toQueryError(e);
      }
      const overRows = r.rows.length > o.maxRows;
      const rows = overRows ? r.rows.slice(0, o.maxRows) : r.rows;
      const truncated = overRows || !!r.stopped;
      if (r.stopped) {
        // the connection was ended at the byte budget: no more statements on it (types from the cache, else oids)
        const columns = r.fields.map(f => ({ name: f.name, type: session.types.get(`${f.dataTypeID}:${f.typeMod ?? -1}`) ?? `oid ${f.dataTypeID}` }));
        return { columns, rows, truncated, elapsedMs: Math.round(performance.now() - started), statement: verdict.kind,
          stopped: { atRow: r.stopped.atRow, limitBytes: r.stopped.limitBytes },
          countNote: o.count ? 'not counted: the query was stopped at the byte budget' : undefined };
      }
      const columns = await typeNames(run, r.fields, session.types);
      const out: QueryOutput = { columns, rows, truncated, elapsedMs: Math.round(performance.now() - started), statement: verdict.kind };
      if (!truncated) out.total = rows.length;
      else if (o.count && verdict.kind !== 'select') out.countNote = 'not counted: only a SELECT can be counted';
      else if (o.count) {
        // the exact total in the same read-only transaction, within what is left of the same time budget
        const left = timeoutMs - (performance.now() - started) - 250;
        if (left < 100) out.countNote = 'not counted: the time limit was used up by the query';
        else {
          try {
            await run(`SELECT pg_catalog.set_config('statement_timeout', $1, true)`, [String(Math.round(left))]);
            const c = await run(`${WRAP_PREFIX}SELECT pg_catalog.count(*) FROM (${verdict.statement}\n) AS q) AS c`, o.params);
            out.total = Number(c.rows[0]?.[0]);
          } catch (e) {
            if ((e as PgErrorFields).code === '57014') out.countNote = 'not counted: the count did not finish within the time limit';
            else out.countNote = `not counted: ${(e as Error).message}`;
          }
        }
      }
      out.elapsedMs = Math.round(performance.now() - started);
      return out;
    }, byteBudget(ctx.config.limits));
  } catch (e) {
    throw dbError(e, o.timeoutSec);
  }
}

/** Runs trusted catalog SQL (metadata tools) in the same read-only, time-bounded, pinned session. */
export async function readCatalog<T>(ctx: ToolContext, connection: string | undefined, fn: (run: Run) => Promise<T>): Promise<T> {
  const db = await getDatabase(ctx, connection);
  const timeoutMs = ctx.config.limits.queryTimeoutSec * 1000;
  try {
    return await db.readOnly(timeoutMs, ctx.signal, async run => {
      if (db.kind !== 'duckdb') await pinSession(db, run, timeoutMs);
      // a catalog tool's rows are never cut quietly: a stop at the byte budget is an error
      return fn(async (sql, params) => {
        const r = await run(sql, params);
        if (r.stopped) throw new ToolError(`Stopped: the rows reached the ${mb(r.stopped.limitBytes)} budget on one result (DATATOOLS_MAX_RESULT_MB) at row ${r.stopped.atRow.toLocaleString('en-US')}. ${WHAT_TO_DO}; use execute_query for a part of the table.`);
        return r;
      });
    }, byteBudget(ctx.config.limits));
  } catch (e) {
    throw dbError(db.kind === 'duckdb' ? duckError(e) : e, ctx.config.limits.queryTimeoutSec);
  }
}

/** A SELECT sorted on the server by the `column`-th column of its result (1-based), NULLs last: the result view's
 *  "sort the whole query" for a result cut at max_rows (a sort of the rows held orders those only). The statement is
 *  wrapped as written, its own ORDER BY, LIMIT and comments kept; the column is named by its position, so duplicate
 *  or unusual names sort right. Undefined when the query is not one SELECT. The wrapped query runs through the same
 *  read-only checks as any other. */
export async function sortedQuery(query: string, column: number, desc: boolean): Promise<string | undefined> {
  if (!Number.isInteger(column) || column < 1) return undefined;
  await loadParser();
  const statement = selectStatement(query);
  return statement === undefined ? undefined : `SELECT * FROM (\n${statement}\n) AS q ORDER BY ${column}${desc ? ' DESC' : ''} NULLS LAST`;
}

export function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** Splits "schema.table" into parts the way SQL reads a name, without ever building SQL from it: unquoted parts fold
 *  to lower case (ASCII letters, as PostgreSQL does: LINEITEM is lineitem), quoted parts stay exact ("Sales"),
 *  `""` inside quotes is a quote. */
export function splitName(name: string): { schema?: string; table: string } {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  let wasQuoted = false;
  let raw = '';
  const bad = () => new ToolError(`"${name}" is not a table name; use table, schema.table, or "Quoted Name" for a name with capitals or spaces.`);
  const end = () => {
    if (wasQuoted) {
      if (raw.trim() !== '') throw bad(); // text outside the quotes: "a"b
      parts.push(cur);
    } else {
      const t = raw.trim();
      if (t === '') throw bad();
      parts.push(t.replace(/[A-Z]/g, c => c.toLowerCase()));
    }
    cur = ''; raw = ''; wasQuoted = false;
  };
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (quoted) {
      if (ch === '"' && name[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') quoted = false; else cur += ch;
    } else if (ch === '"') {
      if (wasQuoted || raw.trim() !== '') throw bad();
      quoted = true; wasQuoted = true;
    } else if (ch === '.') end();
    else if (wasQuoted) { if (ch.trim() !== '') throw bad(); }
    else raw += ch;
  }
  if (quoted) throw bad();
  end();
  if (parts.length > 2 || parts.some(p => p === '')) throw bad();
  return parts.length === 2 ? { schema: parts[0], table: parts[1] } : { table: parts[0] };
}

export interface Relation { oid: number; schema: string; name: string; kind: string; estimate: number; pages?: number }

/** Finds a table or view in the catalog as SQL would (visible by search_path when no schema is given). */
export async function resolveRelation(run: Run, name: string): Promise<Relation> {
  const { schema, table } = splitName(name);
  const r = await run(`SELECT c.oid::int4, n.nspname, c.relname, c.relkind::text, c.reltuples::float8, c.relpages::int4
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r','v','m','p','f') AND c.relname = $1
      AND (CASE WHEN $2::text IS NULL THEN pg_catalog.pg_table_is_visible(c.oid) ELSE n.nspname = $2::text END)`, [table, schema ?? null]);
  if (!r.rows.length) {
    const near = await run(`SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r','v','m','p','f') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%'
       ORDER BY (lower(c.relname) = lower($1)) DESC, c.relname LIMIT 8`, [table]);
    const looked = schema !== undefined ? `${schema}.${table}` : table;
    throw new ToolError(`No table or view named "${name}" (looked for ${looked}; unquoted names fold to lower case as in SQL, quoted names are exact). Tables here include: ${near.rows.map(x => x[0]).join(', ') || '(none)'}. Use list_tables.`);
  }
  const [oid, nsp, rel, kind, est, pages] = r.rows[0] as [number, string, string, string, number, number];
  return { oid: Number(oid), schema: nsp, name: rel, kind, estimate: Math.max(0, Math.round(Number(est))), pages: Math.max(0, Number(pages)) };
}

export function relationSql(r: Relation): string {
  return `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`;
}

export function resultFile(cfg: DataToolsConfig, p: string): string {
  return path.isAbsolute(p) ? p : path.join(cfg.allowedPaths[0], p);
}
