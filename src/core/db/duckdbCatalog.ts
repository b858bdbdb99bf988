// The catalog tools on DuckDB (list_tables, describe_table, get_schema, get_table_sample), from DuckDB's own
// catalog functions (duckdb_tables(), duckdb_views(), duckdb_columns(), duckdb_constraints(), duckdb_indexes()).
import type { ToolContext } from '../tool';
import { ToolError } from '../result';
import { byteBudget, dbError, getDatabase, quoteIdent, splitName } from './service';
import { duckError, type DuckDBDatabase, type DuckSession } from './duckdb';

/** Runs trusted catalog SQL on the connection's DuckDB, read-only and within the query time limit. */
export async function duckCatalog<T>(ctx: ToolContext, connection: string | undefined, fn: (s: DuckSession, db: DuckDBDatabase) => Promise<T>): Promise<T> {
  const db = await getDatabase(ctx, connection) as DuckDBDatabase;
  try {
    return await db.session(ctx.config.limits.queryTimeoutSec * 1000, ctx.signal, s => fn(s, db));
  } catch (e) {
    if (e instanceof ToolError) throw e;
    throw dbError(duckError(e), ctx.config.limits.queryTimeoutSec);
  }
}

/** Rows of trusted SQL, all of them or an error (a catalog tool's rows are never cut quietly). */
export async function rowsOf(s: DuckSession, sql: string, params: unknown[] | undefined, ctx: ToolContext): Promise<unknown[][]> {
  const r = await s.query(sql, params, { budget: byteBudget(ctx.config.limits) });
  if (r.stopped) throw new ToolError(`Stopped: the rows reached the budget on one result (DATATOOLS_MAX_RESULT_MB) at row ${r.stopped.atRow}; use execute_query for a part of the table.`);
  return r.rows;
}

export interface DuckRelation { database: string; schema: string; name: string; kind: 'table' | 'view'; estimate: number; comment: string | null }

const USER = `database_name NOT IN ('system', 'temp') AND NOT internal`;

export const RELATIONS_SQL = `SELECT database_name, schema_name, table_name, 'table', estimated_size, comment FROM duckdb_tables() WHERE ${USER}
  UNION ALL SELECT database_name, schema_name, view_name, 'view', NULL, comment FROM duckdb_views() WHERE ${USER}`;

function toRelation(r: unknown[]): DuckRelation {
  return { database: String(r[0]), schema: String(r[1]), name: String(r[2]), kind: r[3] === 'view' ? 'view' : 'table', estimate: r[4] === null ? 0 : Number(r[4]), comment: (r[5] as string | null) ?? null };
}

export async function duckRelations(s: DuckSession, ctx: ToolContext, schema?: string, limit = 2001): Promise<DuckRelation[]> {
  const rows = await rowsOf(s, `SELECT * FROM (${RELATIONS_SQL}) WHERE ($1::VARCHAR IS NULL OR schema_name = $1::VARCHAR) ORDER BY 2, 3 LIMIT ${limit}`, [schema ?? null], ctx);
  return rows.map(toRelation);
}

/** Finds a table or view as DuckDB's SQL would: names match case-insensitively (DuckDB's rule), an exact match first;
 *  no schema: the main schema first. */
export async function duckResolve(s: DuckSession, ctx: ToolContext, name: string): Promise<DuckRelation> {
  const { schema, table } = splitName(name);
  const rows = await rowsOf(s, `SELECT * FROM (${RELATIONS_SQL}) WHERE lower(table_name) = lower($1::VARCHAR)
      AND ($2::VARCHAR IS NULL OR lower(schema_name) = lower($2::VARCHAR))
    ORDER BY (table_name = $1::VARCHAR) DESC, (schema_name = 'main') DESC, database_name = current_database() DESC LIMIT 1`, [table, schema ?? null], ctx);
  if (!rows.length) {
    const near = await duckRelations(s, ctx, undefined, 8);
    throw new ToolError(`No table or view named "${name}". Tables here include: ${near.map(r => `${r.schema}.${r.name}`).join(', ') || '(none)'}. Use list_tables; files are read with SELECT * FROM 'file.parquet' or read_csv('/path/file.csv').`);
  }
  return toRelation(rows[0]);
}

export const duckRelationSql = (r: DuckRelation) => `${quoteIdent(r.database)}.${quoteIdent(r.schema)}.${quoteIdent(r.name)}`;

export interface DuckColumn { name: string; type: string; nullable: boolean; default: string | null; comment: string | null }

export async function duckColumnsOf(s: DuckSession, ctx: ToolContext, r: DuckRelation): Promise<DuckColumn[]> {
  const rows = await rowsOf(s, `SELECT column_name, data_type, is_nullable, column_default, comment FROM duckdb_columns()
     WHERE database_name = $1 AND schema_name = $2 AND table_name = $3 ORDER BY column_index`, [r.database, r.schema, r.name], ctx);
  return rows.map(x => ({ name: String(x[0]), type: String(x[1]), nullable: Boolean(x[2]), default: (x[3] as string | null) ?? null, comment: (x[4] as string | null) ?? null }));
}

export async function duckDdl(s: DuckSession, ctx: ToolContext, r: DuckRelation): Promise<{ text: string; columns: DuckColumn[]; indexes: string[] }> {
  const cols = await duckColumnsOf(s, ctx, r);
  const cons = r.kind === 'table' ? await rowsOf(s, `SELECT constraint_text FROM duckdb_constraints()
     WHERE database_name = $1 AND schema_name = $2 AND table_name = $3 AND constraint_type NOT IN ('NOT NULL') ORDER BY constraint_index`, [r.database, r.schema, r.name], ctx) : [];
  const idx = r.kind === 'table' ? await rowsOf(s, `SELECT coalesce(sql, index_name) FROM duckdb_indexes() WHERE database_name = $1 AND schema_name = $2 AND table_name = $3 ORDER BY index_name`, [r.database, r.schema, r.name], ctx) : [];
  const lines = cols.map(c => `  ${c.name} ${c.type}${c.nullable ? '' : ' NOT NULL'}${c.default ? ` DEFAULT ${c.default}` : ''}${c.comment ? ` -- ${c.comment}` : ''}`);
  for (const c of cons) lines.push(`  ${String(c[0])}`);
  const text = `${r.comment ? `-- ${r.comment}\n` : ''}CREATE ${r.kind.toUpperCase()} ${r.schema}.${r.name} ( -- ~${r.estimate.toLocaleString('en-US')} rows\n${lines.join(',\n')}\n);`;
  return { text, columns: cols, indexes: idx.map(x => String(x[0])) };
}

/** The in-memory engine with no tables: how its files are read. */
export function filesHint(db: DuckDBDatabase): string {
  const root = db.roots[0];
  return `This is an in-memory DuckDB: it has no tables, but its SQL reads the data files under the allowed folders${root ? ` (${db.roots.join(', ')})` : ' (none are configured: set DATATOOLS_ALLOWED_PATHS)'}. `
    + `For example: SELECT * FROM '${root ? `${root}/` : '/data/'}sales.parquet' LIMIT 10, or read_csv('${root ? `${root}/` : '/data/'}orders.csv'), `
    + 'joined like tables; DESCRIBE SELECT * FROM \'file.parquet\' gives the columns. Write paths in full (absolute): DuckDB refuses relative ones under its confinement. Use list_files to find the files.';
}
