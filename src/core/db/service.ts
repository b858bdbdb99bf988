import * as path from 'node:path';
import type { DataToolsConfig } from '../config';
import { ToolError, type ColumnInfo } from '../result';
import type { ToolContext } from '../tool';
import { DEFAULT_DENIED_FUNCTIONS, checkQuery, loadParser } from './guard';
import { PostgresDatabase } from './postgres';
import { SampleDatabase } from './sample';
import { QueryTimeout, type Database, type Field, type Run } from './types';

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
  return ctx.services.get(`db:${c.key}`, async () => (c.url ? new PostgresDatabase(c.url) : new SampleDatabase()));
}

/** Type names for the result's type OIDs, read from the server's own catalog. */
async function typeNames(run: Run, fields: Field[]): Promise<ColumnInfo[]> {
  const oids = [...new Set(fields.map(f => f.dataTypeID))];
  const names = new Map<number, string>();
  if (oids.length) {
    const r = await run('SELECT oid::int4, format_type(oid, NULL) FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])', [oids]);
    for (const [oid, name] of r.rows as [number, string][]) names.set(Number(oid), name);
  }
  return fields.map(f => ({ name: f.name, type: names.get(f.dataTypeID) ?? `oid ${f.dataTypeID}` }));
}

export interface QueryOutput {
  columns: ColumnInfo[];
  rows: unknown[][];
  truncated: boolean;
  elapsedMs: number;
  statement: string;
}

/** Explains a database error in terms the agent can act on; never leaks the connection string. */
export function dbError(e: unknown, timeoutSec: number): ToolError {
  if (e instanceof ToolError) return e;
  if (e instanceof QueryTimeout) {
    return new ToolError(`The query was stopped after its ${timeoutSec} s timeout and cancelled on the server. Make it cheaper (filter, aggregate, LIMIT) or pass a larger timeout.`);
  }
  const err = e as { message?: string; code?: string; position?: string; hint?: string };
  const code = err.code;
  if (code === '25006') return new ToolError(`The database refused a write: ${err.message}. This tool is read-only.`);
  if (code === '57014') return new ToolError(`The query was cancelled: ${err.message}.`);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === '28P01' || code === '3D000' || code === '28000') {
    return new ToolError(`Cannot connect to the database: ${err.message}. Check the connection settings (DATABASE_URL or the connection in the Data view).`);
  }
  const where = err.position ? ` (at character ${err.position})` : '';
  return new ToolError(`The database reported an error${code ? ` ${code}` : ''}: ${err.message}${where}.${err.hint ? ` Hint: ${err.hint}` : ''}`);
}

export async function runQuery(ctx: ToolContext, o: { query: string; params?: unknown[]; maxRows: number; timeoutSec: number; connection?: string }): Promise<QueryOutput> {
  await loadParser();
  const verdict = checkQuery(o.query, {
    deniedFunctions: ctx.config.deniedFunctions ?? DEFAULT_DENIED_FUNCTIONS,
    allowedFunctions: ctx.config.allowedFunctions,
    timeoutSec: o.timeoutSec,
  });
  if (!verdict.ok) throw new ToolError(`Refused: ${verdict.reason}`);
  const db = await getDatabase(ctx, o.connection);
  const timeoutMs = Math.round(o.timeoutSec * 1000);
  const started = performance.now();
  try {
    return await db.readOnly(timeoutMs, ctx.signal, async run => {
      await run(`SET LOCAL statement_timeout = ${timeoutMs}`);
      let r;
      if (verdict.kind === 'select') {
        // a cursor fetches at most max_rows + 1 rows, whatever the size of the result
        await run(`DECLARE datatools_cursor NO SCROLL CURSOR FOR ${o.query}`, o.params);
        r = await run(`FETCH FORWARD ${o.maxRows + 1} FROM datatools_cursor`);
      } else {
        r = await run(o.query, o.params);
      }
      const truncated = r.rows.length > o.maxRows;
      const rows = truncated ? r.rows.slice(0, o.maxRows) : r.rows;
      const columns = await typeNames(run, r.fields);
      return { columns, rows, truncated, elapsedMs: Math.round(performance.now() - started), statement: verdict.kind };
    });
  } catch (e) {
    throw dbError(e, o.timeoutSec);
  }
}

/** Runs trusted catalog SQL (metadata tools) in the same read-only, time-bounded session. */
export async function readCatalog<T>(ctx: ToolContext, connection: string | undefined, fn: (run: Run) => Promise<T>): Promise<T> {
  const db = await getDatabase(ctx, connection);
  const timeoutMs = ctx.config.limits.queryTimeoutSec * 1000;
  try {
    return await db.readOnly(timeoutMs, ctx.signal, async run => {
      await run(`SET LOCAL statement_timeout = ${timeoutMs}`);
      return fn(run);
    });
  } catch (e) {
    throw dbError(e, ctx.config.limits.queryTimeoutSec);
  }
}

export function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** Splits "schema.table" (quotes allowed) into parts without ever building SQL from them. */
export function splitName(name: string): { schema?: string; table: string } {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (quoted) {
      if (ch === '"' && name[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') quoted = false; else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === '.') { parts.push(cur); cur = ''; } else cur += ch;
  }
  parts.push(cur);
  if (parts.length > 2 || parts.some(p => p === '')) throw new ToolError(`"${name}" is not a table name; use "table" or "schema.table".`);
  return parts.length === 2 ? { schema: parts[0], table: parts[1] } : { table: parts[0] };
}

export interface Relation { oid: number; schema: string; name: string; kind: string; estimate: number }

/** Finds a table or view in the catalog (visible by search_path when no schema is given). */
export async function resolveRelation(run: Run, name: string): Promise<Relation> {
  const { schema, table } = splitName(name);
  const r = await run(`SELECT c.oid::int4, n.nspname, c.relname, c.relkind::text, c.reltuples::float8
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r','v','m','p','f') AND c.relname = $1
      AND (CASE WHEN $2::text IS NULL THEN pg_catalog.pg_table_is_visible(c.oid) ELSE n.nspname = $2::text END)`, [table, schema ?? null]);
  if (!r.rows.length) {
    const near = await run(`SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r','v','m','p','f') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%'
       ORDER BY (lower(c.relname) = lower($1)) DESC, c.relname LIMIT 8`, [table]);
    throw new ToolError(`No table or view named "${name}". Tables here include: ${near.rows.map(x => x[0]).join(', ') || '(none)'}. Use list_tables.`);
  }
  const [oid, nsp, rel, kind, est] = r.rows[0] as [number, string, string, string, number];
  return { oid: Number(oid), schema: nsp, name: rel, kind, estimate: Math.max(0, Math.round(Number(est))) };
}

export function relationSql(r: Relation): string {
  return `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`;
}

export function resultFile(cfg: DataToolsConfig, p: string): string {
  return path.isAbsolute(p) ? p : path.join(cfg.allowedPaths[0], p);
}
