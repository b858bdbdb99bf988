import type { ToolContext } from '../tool';
import { connectionFor, readCatalog } from './service';
import { isDuckUrl } from './duckdb';
import { duckCatalog, duckRelations, rowsOf, RELATIONS_SQL } from './duckdbCatalog';

const onDuck = (ctx: ToolContext, connection?: string) => isDuckUrl(connectionFor(ctx.config, connection).url);

/** Structured catalog reads for tree views (the tools return text; these return data). Each is one small query,
 *  so a tree can load a level at a time. */

export interface SchemaInfo { name: string; relations: number }
export interface RelationInfo { schema: string; name: string; kind: 'table' | 'view' | 'materialized view' | 'partitioned table' | 'foreign table'; rows: number | null; comment: string | null }
export interface ColumnDetail { name: string; type: string; nullable: boolean; primaryKey: boolean; foreignKey: string | null; comment: string | null }

const KIND: Record<string, RelationInfo['kind']> = { r: 'table', v: 'view', m: 'materialized view', p: 'partitioned table', f: 'foreign table' };
const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;

export function listSchemas(ctx: ToolContext, connection?: string): Promise<SchemaInfo[]> {
  if (onDuck(ctx, connection)) {
    return duckCatalog(ctx, connection, async s => (await rowsOf(s, `SELECT schema_name, count(*) FROM (${RELATIONS_SQL}) GROUP BY 1 ORDER BY schema_name = 'main' DESC, 1`, [], ctx))
      .map(r => ({ name: String(r[0]), relations: Number(r[1]) })));
  }
  return readCatalog(ctx, connection, async run => (await run(`
    SELECT n.nspname, count(c.oid)::int4 FROM pg_catalog.pg_namespace n
      LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r','v','m','p','f') AND NOT c.relispartition
     WHERE ${USER_SCHEMAS} AND has_schema_privilege(n.oid, 'USAGE')
     GROUP BY n.nspname ORDER BY n.nspname = 'public' DESC, n.nspname`)).rows.map(r => ({ name: String(r[0]), relations: Number(r[1]) })));
}

export function listRelations(ctx: ToolContext, schema: string, connection?: string, limit = 2000): Promise<{ items: RelationInfo[]; more: boolean }> {
  if (onDuck(ctx, connection)) {
    return duckCatalog(ctx, connection, async s => {
      const rels = await duckRelations(s, ctx, schema, limit + 1);
      return { items: rels.slice(0, limit).map(r => ({ schema, name: r.name, kind: r.kind, rows: r.kind === 'view' ? null : r.estimate, comment: r.comment })), more: rels.length > limit };
    });
  }
  return readCatalog(ctx, connection, async run => {
    const rows = (await run(`
      SELECT c.relname, c.relkind::text, CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::float8 END, obj_description(c.oid, 'pg_class')
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r','v','m','p','f') AND NOT c.relispartition
       ORDER BY c.relname LIMIT $2`, [schema, limit + 1])).rows;
    return {
      items: rows.slice(0, limit).map(r => ({ schema, name: String(r[0]), kind: KIND[String(r[1])] ?? 'table', rows: r[2] === null ? null : Math.round(Number(r[2])), comment: r[3] === null ? null : String(r[3]) })),
      more: rows.length > limit,
    };
  });
}

export function listColumns(ctx: ToolContext, schema: string, table: string, connection?: string): Promise<ColumnDetail[]> {
  if (onDuck(ctx, connection)) {
    return duckCatalog(ctx, connection, async s => (await rowsOf(s, `SELECT c.column_name, c.data_type, c.is_nullable,
        EXISTS (SELECT 1 FROM duckdb_constraints() k WHERE k.database_name = c.database_name AND k.schema_name = c.schema_name AND k.table_name = c.table_name
                 AND k.constraint_type = 'PRIMARY KEY' AND list_contains(k.constraint_column_names, c.column_name)),
        c.comment
      FROM duckdb_columns() c WHERE c.database_name = current_database() AND c.schema_name = $1 AND c.table_name = $2 ORDER BY c.column_index`, [schema, table], ctx))
      .map(r => ({ name: String(r[0]), type: String(r[1]), nullable: !!r[2], primaryKey: !!r[3], foreignKey: null, comment: r[4] === null ? null : String(r[4]) })));
  }
  return readCatalog(ctx, connection, async run => (await run(`
    SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
           EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p' AND a.attnum = ANY(k.conkey)),
           (SELECT format('%s.%s', f.confrelid::regclass::text, (SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = f.confrelid AND attnum = f.confkey[1]))
              FROM pg_catalog.pg_constraint f WHERE f.conrelid = c.oid AND f.contype = 'f' AND a.attnum = ANY(f.conkey) LIMIT 1),
           col_description(c.oid, a.attnum)
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE n.nspname = $1 AND c.relname = $2 ORDER BY a.attnum`, [schema, table])).rows.map(r => ({
    name: String(r[0]), type: String(r[1]), nullable: !!r[2], primaryKey: !!r[3], foreignKey: r[4] === null ? null : String(r[4]), comment: r[5] === null ? null : String(r[5]),
  })));
}
