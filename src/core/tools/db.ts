import { z } from 'zod';
import * as path from 'node:path';
import { defineTool, type ToolContext } from '../tool';
import { ToolError, type ColumnInfo, type TablePart, type ToolResult } from '../result';
import { ceiling, connection, tableName } from './common';
import { byteBudget, connectionFor, readCatalog, relationSql, resolveRelation, runQuery, type Relation } from '../db/service';
import { isDuckUrl } from '../db/duckdb';
import { duckCatalog, duckDdl, duckRelations, duckRelationSql, duckResolve, filesHint, rowsOf } from '../db/duckdbCatalog';
import { duckColumns } from '../db/duckdbQuery';
import { columnsLine, plural, renderRows } from '../formats/table';
import { writeTable, type RowSource } from '../formats/tableWrite';
import { writeDataStream } from '../storage/data';
import { PathPolicy, fmtBytes } from '../storage/paths';
import { resultsDir } from '../config';
import { grantedCapabilities } from '../roles';
import type { Run } from '../db/types';

const TEXT_BUDGET = 6000;

/** The connection is a DuckDB one (duckdb: URL): the catalog tools read DuckDB's own catalog. */
const onDuck = (ctx: ToolContext, connection?: string) => isDuckUrl(connectionFor(ctx.config, connection).url);
/** How long get_table_sample may count a table's rows before it gives the planner's estimate instead, ms. */
const COUNT_BUDGET_MS = 2000;

/** Writes a whole result where Python can read it, in bounded memory: the rows (an array, or chunks from the result
 *  store) are written as they come into a temporary file that replaces the target when complete. Roles that may not
 *  write files can still hand results over, but only into the results folder of the work directory, by file name. */
export async function saveTable(ctx: ToolContext, target: string, columns: ColumnInfo[], rows: unknown[][] | RowSource): Promise<{ path: string; bytes: number; notes: string[]; rows: number }> {
  const ext = path.extname(target).toLowerCase();
  if (ext !== '.csv' && ext !== '.parquet') throw new ToolError(`save_as must end in .csv or .parquet (got "${target}").`);
  const mayWrite = grantedCapabilities({ role: ctx.config.role, trusted: true }).has('files.write');
  let dest = target;
  let policy: PathPolicy | undefined;
  const plainName = !target.includes('/') && !target.includes(path.sep);
  if (!mayWrite && !plainName) {
    throw new ToolError(`The role ${ctx.config.role} cannot write files; save_as takes a plain file name (e.g. "result.parquet"), saved under ${resultsDir(ctx.config)}.`);
  }
  if (plainName) {
    // a plain name always goes to the results folder, whatever the role
    const dir = resultsDir(ctx.config);
    policy = new PathPolicy([dir], ctx.config.limits.maxFileBytes);
    await import('node:fs/promises').then(f => f.mkdir(dir, { recursive: true }));
    dest = path.join(dir, target);
  }
  const format = ext === '.csv' ? 'csv' : 'parquet';
  const source: RowSource = Array.isArray(rows) ? () => [rows] : rows;
  const produce = (write: (b: Uint8Array) => Promise<void>) => writeTable(format, columns, source, write);
  const out = policy ? await policy.writeAtomicStream(dest, produce) : await writeDataStream(ctx, dest, produce, format === 'csv' ? 'text/csv' : 'application/vnd.apache.parquet');
  return { path: out.path, bytes: out.bytes, notes: out.value.notes, rows: out.value.rows };
}

export function tableResult(o: { title: string; columns: ColumnInfo[]; rows: unknown[][]; truncated: boolean; totalRows?: number; header: string; footer?: string[] }): ToolResult {
  const { text, shown } = renderRows(o.columns, o.rows, { budget: TEXT_BUDGET });
  const notes = [...(o.footer ?? [])];
  // every front end stores the table under a result id named on the reply's last line (host.storeTables)
  if (shown < o.rows.length) notes.unshift(`Showing ${plural(shown, 'row')} of ${o.rows.length.toLocaleString('en-US')} within the text budget; get the rest with get_result on the result id below (offset/limit, order_by, where, describe, save_as).`);
  const part: TablePart = { kind: 'table', title: o.title, columns: o.columns, rows: o.rows, truncated: o.truncated, totalRows: o.totalRows };
  return { text: [o.header, columnsLine(o.columns), text, ...notes].join('\n'), parts: [part], metrics: { rows: o.rows.length } };
}

export const executeQuery = defineTool({
  name: 'execute_query',
  title: 'Run a read-only SQL query',
  description: 'Runs one read-only SQL statement (SELECT, WITH, VALUES, TABLE, SHOW, EXPLAIN) on PostgreSQL, or on DuckDB '
    + 'for a duckdb: connection (whose SQL reads data files under the allowed folders by absolute path), and returns '
    + 'the column names and types, the first rows within a character budget, the row count and whether it was '
    + 'truncated. Writes, DDL, multiple statements and dangerous functions are refused; read-only is enforced by the '
    + 'database. Limits: 30 s and 10,000 rows by default. Use $1, $2... with `params` for values. To analyse a '
    + 'result in Python, pass `save_as` to write the whole result to a CSV or Parquet file and read that file in code.',
  input: z.strictObject({
    query: z.string().min(1, 'must not be empty').max(100_000).describe('One SQL statement.'),
    timeout: z.number().positive().max(3600).optional().describe('Statement timeout in seconds (default 30).'),
    max_rows: z.number().int().positive().max(10_000_000).optional().describe('Most rows to return (default 10,000).'),
    params: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).max(1000).optional()
      .describe('Values for $1, $2, ... placeholders.'),
    save_as: z.string().min(1).max(4096).optional()
      .describe('Write the whole result (up to max_rows) to this .csv or .parquet file; a plain name goes to the results folder.'),
    count: z.boolean().optional()
      .describe('When the result is cut at max_rows, also count all its rows (count(*) in the same transaction and time limit); without it the total of a cut result is a lower bound.'),
    connection,
  }),
  capability: 'db.read',
  readOnly: true,
  summary: i => `Running SQL: ${i.query.replace(/\s+/g, ' ').slice(0, 80)}`,
  handler: async (i, ctx) => {
    const rowsCap = ceiling(i.max_rows, ctx.config.limits.maxRows, ctx.config.limits.maxRows, 'max_rows');
    const timeCap = ceiling(i.timeout, ctx.config.limits.queryTimeoutSec, ctx.config.limits.queryTimeoutSec, 'timeout', ' s');
    const maxRows = rowsCap.value;
    const timeoutSec = timeCap.value;
    const out = await runQuery(ctx, { query: i.query, params: i.params, maxRows, timeoutSec, connection: i.connection, count: i.count });
    const n = out.rows.length;
    const fmt = (x: number) => x.toLocaleString('en-US');
    const total = out.total !== undefined ? `${fmt(out.total)} rows in all (counted)`
      : out.stopped ? `at least ${fmt(out.stopped.atRow)} rows in all` : `at least ${fmt(n + 1)} rows in all`;
    const header = out.stopped
      ? `${plural(n, 'row')} returned in ${out.elapsedMs} ms; TRUNCATED: stopped at row ${fmt(out.stopped.atRow)}, where the result reached the ${fmt(Math.round(out.stopped.limitBytes / 1024 / 1024))} MB budget on one result (DATATOOLS_MAX_RESULT_MB); ${total}. The query was stopped on the server. Select fewer rows (WHERE, LIMIT, aggregate) or columns, or cut long values with left(col, n) / substr(); octet_length(col) tells their sizes.`
      : out.truncated
        ? `${plural(n, 'row')} returned in ${out.elapsedMs} ms; TRUNCATED at max_rows=${fmt(maxRows)}: the query has more rows, ${total} (aggregate or filter${maxRows < ctx.config.limits.maxRows ? ', or raise max_rows' : ''}${out.total === undefined && !i.count ? '; count: true gives the exact total' : ''}).`
        : `${plural(n, 'row')} returned in ${out.elapsedMs} ms (complete).`;
    const footer: string[] = [rowsCap.note, timeCap.note, out.countNote ? `Total ${out.countNote}; it is at least ${fmt(out.stopped?.atRow ?? n + 1)} rows.` : undefined].filter((x): x is string => !!x);
    let saved: { path: string; bytes: number; notes: string[] } | undefined;
    if (i.save_as) {
      saved = await saveTable(ctx, i.save_as, out.columns, out.rows);
      footer.push(`Saved ${out.truncated ? 'the' : 'all'} ${plural(n, 'row')}${out.truncated ? ' returned (the result was cut: see above)' : ''} to ${saved.path} (${fmtBytes(saved.bytes)}); read it in Python with pandas.read_${saved.path.endsWith('.csv') ? 'csv' : 'parquet'}.`);
      if (saved.notes.length) footer.push(`In the file: ${saved.notes.join('; ')}.`);
    }
    const r = tableResult({ title: i.query, columns: out.columns, rows: out.rows, truncated: out.truncated, totalRows: out.total, header, footer });
    if (saved) r.parts.push({ kind: 'file', path: saved.path, bytes: saved.bytes });
    return r;
  },
});

const REL_KIND: Record<string, string> = { r: 'table', v: 'view', m: 'materialized view', p: 'partitioned table', f: 'foreign table' };

export const listTables = defineTool({
  name: 'list_tables',
  title: 'List tables',
  description: 'Lists schemas, tables and views with estimated row counts and sizes.',
  input: z.strictObject({ schema: z.string().min(1).max(200).optional().describe('Only this schema.'), connection }),
  capability: 'db.read',
  readOnly: true,
  summary: () => 'Listing tables',
  handler: async (i, ctx) => {
    if (onDuck(ctx, i.connection)) {
      return duckCatalog(ctx, i.connection, async (s, db) => {
        const rels = await duckRelations(s, ctx, i.schema);
        const more = rels.length > 2000;
        const list = rels.slice(0, 2000).map(r => [r.schema, r.name, r.kind, r.kind === 'view' ? null : r.estimate, null, r.comment]);
        const columns: ColumnInfo[] = [{ name: 'schema', type: 'text' }, { name: 'name', type: 'text' }, { name: 'kind', type: 'text' },
          { name: 'rows_estimate', type: 'int8' }, { name: 'bytes', type: 'int8' }, { name: 'comment', type: 'text' }];
        const lines = list.map(r => `${r[0]}.${r[1]} (${r[2]}${r[3] === null ? '' : `, ~${Number(r[3]).toLocaleString('en-US')} rows`})${r[5] ? ` - ${r[5]}` : ''}`);
        const head = !list.length && db.inMemory && !i.schema ? filesHint(db) : `${plural(list.length, 'table')} and views${more ? ' (first 2,000; filter by schema)' : ''} in ${db.label}:`;
        const text = [head, ...lines].join('\n');
        return { text: text.length > 12000 ? text.slice(0, 12000) + '\n… (cut; filter by schema)' : text,
          parts: [{ kind: 'table', title: 'Tables', columns, rows: list, truncated: more }], metrics: { rows: list.length } };
      });
    }
    const rows = await readCatalog(ctx, i.connection, async run => (await run(`
      SELECT n.nspname, c.relname, c.relkind::text, CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::int8 END,
             pg_catalog.pg_total_relation_size(c.oid)::int8, pg_catalog.obj_description(c.oid, 'pg_class')
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r','v','m','p','f') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%'
         AND ($1::text IS NULL OR n.nspname = $1::text)
       ORDER BY 1, 2 LIMIT 2001`, [i.schema ?? null])).rows);
    const more = rows.length > 2000;
    const list = rows.slice(0, 2000).map(r => [r[0], r[1], REL_KIND[String(r[2])] ?? r[2], r[3] === null ? null : Number(r[3]), Number(r[4]), r[5]]);
    const columns: ColumnInfo[] = [{ name: 'schema', type: 'text' }, { name: 'name', type: 'text' }, { name: 'kind', type: 'text' },
      { name: 'rows_estimate', type: 'int8' }, { name: 'bytes', type: 'int8' }, { name: 'comment', type: 'text' }];
    const lines = list.map(r => `${r[0]}.${r[1]} (${r[2]}, ~${r[3] === null ? '?' : Number(r[3]).toLocaleString('en-US')} rows, ${fmtBytes(Number(r[4]))})${r[5] ? ` - ${r[5]}` : ''}`);
    const text = [`${plural(list.length, 'table')} and views${more ? ' (first 2,000; filter by schema)' : ''}:`, ...lines].join('\n');
    return { text: text.length > 12000 ? text.slice(0, 12000) + '\n… (cut; filter by schema)' : text,
      parts: [{ kind: 'table', title: 'Tables', columns, rows: list, truncated: more }], metrics: { rows: list.length } };
  },
});

interface ColumnDesc { name: string; type: string; nullable: boolean; default: string | null; comment: string | null }
interface TableDesc { rel: Relation; columns: ColumnDesc[]; constraints: { name: string; type: string; def: string }[]; indexes: string[]; comment: string | null }

async function describe(run: Run, rel: Relation): Promise<TableDesc> {
  const cols = await run(`SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
        pg_catalog.pg_get_expr(d.adbin, d.adrelid), pg_catalog.col_description(a.attrelid, a.attnum)
      FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, [rel.oid]);
  const cons = await run(`SELECT conname, contype::text, pg_catalog.pg_get_constraintdef(oid, true) FROM pg_catalog.pg_constraint
     WHERE conrelid = $1::oid ORDER BY contype, conname`, [rel.oid]);
  const idx = await run(`SELECT pg_catalog.pg_get_indexdef(indexrelid) FROM pg_catalog.pg_index WHERE indrelid = $1::oid ORDER BY indexrelid`, [rel.oid]);
  const comment = await run(`SELECT pg_catalog.obj_description($1::oid, 'pg_class')`, [rel.oid]);
  const TYPES: Record<string, string> = { p: 'primary key', f: 'foreign key', u: 'unique', c: 'check', x: 'exclusion', n: 'not null' };
  return {
    rel,
    columns: cols.rows.map(r => ({ name: String(r[0]), type: String(r[1]), nullable: Boolean(r[2]), default: (r[3] as string) ?? null, comment: (r[4] as string) ?? null })),
    constraints: cons.rows.filter(r => r[1] !== 'n').map(r => ({ name: String(r[0]), type: TYPES[String(r[1])] ?? String(r[1]), def: String(r[2]) })),
    indexes: idx.rows.map(r => String(r[0])),
    comment: (comment.rows[0]?.[0] as string) ?? null,
  };
}

function ddl(d: TableDesc): string {
  const lines = d.columns.map(c => `  ${c.name} ${c.type}${c.nullable ? '' : ' NOT NULL'}${c.default ? ` DEFAULT ${c.default}` : ''}${c.comment ? ` -- ${c.comment}` : ''}`);
  for (const c of d.constraints) lines.push(`  ${c.def}`);
  const kind = REL_KIND[d.rel.kind] ?? 'table';
  return `${d.comment ? `-- ${d.comment}\n` : ''}CREATE ${kind.toUpperCase()} ${d.rel.schema}.${d.rel.name} ( -- ~${d.rel.estimate.toLocaleString('en-US')} rows\n${lines.join(',\n')}\n);`;
}

export const describeTable = defineTool({
  name: 'describe_table',
  title: 'Describe a table',
  description: 'Describes a table or view: columns with types, nullability and defaults, primary and foreign keys, '
    + 'indexes, comments and the estimated row count.',
  input: z.strictObject({ table_name: tableName, connection }),
  capability: 'db.read',
  readOnly: true,
  summary: i => `Describing ${i.table_name}`,
  handler: async (i, ctx) => {
    if (onDuck(ctx, i.connection)) {
      return duckCatalog(ctx, i.connection, async s => {
        const rel = await duckResolve(s, ctx, i.table_name);
        const d = await duckDdl(s, ctx, rel);
        const text = [d.text, ...(d.indexes.length ? ['Indexes:', ...d.indexes.map(x => `  ${x}`)] : [])].join('\n');
        const columns: ColumnInfo[] = [{ name: 'column', type: 'text' }, { name: 'type', type: 'text' }, { name: 'nullable', type: 'bool' }, { name: 'default', type: 'text' }, { name: 'comment', type: 'text' }];
        return { text, parts: [{ kind: 'table', title: `${rel.schema}.${rel.name}`, columns, rows: d.columns.map(c => [c.name, c.type, c.nullable, c.default, c.comment]), truncated: false }], metrics: { rows: d.columns.length } };
      });
    }
    const d = await readCatalog(ctx, i.connection, async run => describe(run, await resolveRelation(run, i.table_name)));
    const text = [ddl(d), ...(d.indexes.length ? ['Indexes:', ...d.indexes.map(x => `  ${x}`)] : [])].join('\n');
    const columns: ColumnInfo[] = [{ name: 'column', type: 'text' }, { name: 'type', type: 'text' }, { name: 'nullable', type: 'bool' }, { name: 'default', type: 'text' }, { name: 'comment', type: 'text' }];
    return { text, parts: [{ kind: 'table', title: `${d.rel.schema}.${d.rel.name}`, columns, rows: d.columns.map(c => [c.name, c.type, c.nullable, c.default, c.comment]), truncated: false }], metrics: { rows: d.columns.length } };
  },
});

const SCHEMA_BUDGET = 12_000;

/** The whole database within a budget: first every table in one line (columns with types, keys), then, while room
 *  is left, the full DDL (defaults, comments, checks, indexes) of tables in order. When even one line per table is
 *  too much, the lines get shorter (column names only, then names with column counts), never fewer. */
export async function schemaOverview(run: Run, rels: Relation[], budget: number): Promise<string> {
  if (!rels.length) return 'The database has no tables or views.';
  const oids = rels.map(r => r.oid);
  const cols = await run(`SELECT a.attrelid::int4, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
      FROM pg_catalog.pg_attribute a WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum`, [oids]);
  const keys = await run(`SELECT conrelid::int4, pg_catalog.pg_get_constraintdef(oid, true) FROM pg_catalog.pg_constraint
      WHERE conrelid = ANY($1::oid[]) AND contype IN ('p', 'f', 'u') ORDER BY conrelid, contype DESC, conname`, [oids]);
  const colsOf = new Map<number, { name: string; type: string; notNull: boolean }[]>();
  for (const [oid, name, type, nn] of cols.rows) {
    const l = colsOf.get(Number(oid)) ?? [];
    l.push({ name: String(name), type: String(type), notNull: Boolean(nn) });
    colsOf.set(Number(oid), l);
  }
  const keysOf = new Map<number, string[]>();
  for (const [oid, def] of keys.rows) keysOf.set(Number(oid), [...(keysOf.get(Number(oid)) ?? []), String(def)]);
  const title = (r: Relation) => `${r.schema}.${r.name}`;
  const kind = (r: Relation) => (r.kind === 'r' ? '' : ` ${REL_KIND[r.kind] ?? r.kind}`);
  const levels: ((r: Relation) => string)[] = [
    r => `${title(r)}${kind(r)} (~${r.estimate.toLocaleString('en-US')} rows): ${(colsOf.get(r.oid) ?? []).map(c => `${c.name} ${c.type}${c.notNull ? ' NOT NULL' : ''}`).join(', ')}${(keysOf.get(r.oid) ?? []).map(k => `; ${k}`).join('')}`,
    r => `${title(r)}${kind(r)}: ${(colsOf.get(r.oid) ?? []).map(c => c.name).join(', ')}${(keysOf.get(r.oid) ?? []).filter(k => k.startsWith('PRIMARY')).map(k => `; ${k}`).join('')}`,
    r => `${title(r)} (${(colsOf.get(r.oid) ?? []).length} columns)`,
  ];
  const cost = (lines: string[]) => lines.reduce((n, l) => n + l.length + 1, 0);
  let level = 0;
  let lines = rels.map(levels[0]);
  while (cost(lines) > budget && level < levels.length - 1) lines = rels.map(levels[++level]);
  const header = `-- ${rels.length.toLocaleString('en-US')} tables and views; every one summarised first${level ? ' (shortened to fit the budget: use get_schema with table_name for the detail)' : ''}.`;
  if (cost(lines) > budget) {
    // even the names do not fit: say how many there are per schema, and list as many as fit
    const perSchema = new Map<string, number>();
    for (const r of rels) perSchema.set(r.schema, (perSchema.get(r.schema) ?? 0) + 1);
    const head = `-- ${rels.length.toLocaleString('en-US')} tables and views, too many to list within the budget. Per schema: ${[...perSchema].map(([k, v]) => `${k} ${v}`).join(', ')}. Use list_tables {schema} and get_schema {table_name}.`;
    const shown: string[] = [];
    let used = head.length;
    for (const r of rels) { const t = title(r); if (used + t.length + 2 > budget) break; shown.push(t); used += t.length + 2; }
    return `${head}\n${shown.join(', ')}${shown.length < rels.length ? `, ... (${rels.length - shown.length} more)` : ''}`;
  }
  // spend what is left on detail, table by table in order: the next richer line, or at the top level full DDL
  if (level > 0) {
    let used = cost(lines) + header.length + 1;
    for (let i = 0; i < rels.length; i++) {
      const richer = levels[level - 1](rels[i]);
      if (used - lines[i].length + richer.length > budget) break;
      used += richer.length - lines[i].length;
      lines[i] = richer;
    }
  }
  if (level === 0) {
    let used = cost(lines);
    let upgraded = 0;
    for (let i = 0; i < rels.length; i++) {
      const d = ddl(await describe(run, rels[i]));
      if (used - lines[i].length + d.length + 1 > budget) break;
      used += d.length + 1 - lines[i].length;
      lines[i] = d;
      upgraded++;
    }
    if (upgraded === rels.length) return lines.join('\n\n');
  }
  return [header, ...lines].join('\n');
}

export const getSchema = defineTool({
  name: 'get_schema',
  title: 'Database schema overview',
  description: 'Returns a compact DDL-like picture of one table, or of the whole database (every table with its '
    + 'columns, types, keys), within a size budget. Start here to learn what data exists.',
  input: z.strictObject({ table_name: tableName.optional(), connection }),
  capability: 'db.read',
  readOnly: true,
  summary: i => (i.table_name ? `Reading the schema of ${i.table_name}` : 'Reading the database schema'),
  handler: async (i, ctx) => {
    if (onDuck(ctx, i.connection)) {
      return duckCatalog(ctx, i.connection, async (s, db) => {
        if (i.table_name) return { text: (await duckDdl(s, ctx, await duckResolve(s, ctx, i.table_name))).text, parts: [] };
        const rels = await duckRelations(s, ctx, undefined, 5001);
        if (!rels.length) return { text: db.inMemory ? filesHint(db) : 'The database has no tables or views.', parts: [] };
        const more = rels.length > 5000;
        const list = rels.slice(0, 5000);
        // every table in one line first; then full DDL table by table while the budget lasts
        const cols = await rowsOf(s, `SELECT database_name, schema_name, table_name, column_name, data_type, is_nullable FROM duckdb_columns()
           WHERE database_name NOT IN ('system', 'temp') AND NOT internal ORDER BY database_name, schema_name, table_name, column_index`, [], ctx);
        const colsOf = new Map<string, string[]>();
        for (const c of cols) { const k = `${c[0]}.${c[1]}.${c[2]}`; colsOf.set(k, [...(colsOf.get(k) ?? []), `${c[3]} ${c[4]}${c[5] ? '' : ' NOT NULL'}`]); }
        let lines = list.map(r => `${r.schema}.${r.name}${r.kind === 'view' ? ' view' : ` (~${r.estimate.toLocaleString('en-US')} rows)`}: ${(colsOf.get(`${r.database}.${r.schema}.${r.name}`) ?? []).join(', ')}`);
        let used = lines.reduce((n, l) => n + l.length + 1, 0);
        if (used > SCHEMA_BUDGET) lines = list.map(r => `${r.schema}.${r.name} (${(colsOf.get(`${r.database}.${r.schema}.${r.name}`) ?? []).length} columns)`);
        else {
          for (let k = 0; k < list.length; k++) {
            const d = (await duckDdl(s, ctx, list[k])).text;
            if (used - lines[k].length + d.length > SCHEMA_BUDGET) break;
            used += d.length - lines[k].length;
            lines[k] = d;
          }
        }
        let text = lines.join('\n');
        if (text.length > SCHEMA_BUDGET) text = `${text.slice(0, SCHEMA_BUDGET)}\n… (cut: use list_tables and get_schema {table_name})`;
        if (more) text += '\n\n-- more than 5,000 tables and views: only the first 5,000 (by schema and name) are summarised; filter with list_tables {schema}.';
        return { text, parts: [] };
      });
    }
    return readCatalog(ctx, i.connection, async run => {
      if (i.table_name) {
        const d = await describe(run, await resolveRelation(run, i.table_name));
        return { text: ddl(d), parts: [] };
      }
      const rels = await run(`SELECT c.oid::int4, n.nspname, c.relname, c.relkind::text, GREATEST(c.reltuples, 0)::float8
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r','v','m','p','f') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%'
           AND NOT c.relispartition
         ORDER BY n.nspname, c.relname LIMIT 5001`);
      const more = rels.rows.length > 5000;
      const list: Relation[] = rels.rows.slice(0, 5000).map(r => ({ oid: Number(r[0]), schema: String(r[1]), name: String(r[2]), kind: String(r[3]), estimate: Math.round(Number(r[4])) }));
      const text = await schemaOverview(run, list, SCHEMA_BUDGET);
      const parts = [text];
      if (more) parts.push('-- more than 5,000 tables and views: only the first 5,000 (by schema and name) are summarised; filter with list_tables {schema}.');
      return { text: parts.join('\n\n') || 'The database has no tables or views.', parts: [] };
    });
  },
});

export const getTableSample = defineTool({
  name: 'get_table_sample',
  title: 'Sample rows of a table',
  description: 'Returns a random sample of rows from a table or view (TABLESAMPLE on large tables), to see what '
    + 'values look like.',
  input: z.strictObject({
    table_name: tableName,
    n: z.number().int().positive().max(1000).optional().describe('Rows to return (default 10).'),
    connection,
  }),
  capability: 'db.read',
  readOnly: true,
  summary: i => `Sampling ${i.table_name}`,
  handler: async (i, ctx) => {
    const n = i.n ?? 10;
    if (onDuck(ctx, i.connection)) {
      const o = await duckCatalog(ctx, i.connection, async s => {
        const rel = await duckResolve(s, ctx, i.table_name);
        // reservoir sampling over the whole table: every row equally likely, wherever it is stored
        const r = await s.query(`SELECT * FROM ${duckRelationSql(rel)} USING SAMPLE reservoir(${n} ROWS)`, [], { budget: byteBudget(ctx.config.limits) });
        if (r.stopped) throw new ToolError(`Stopped: the sample reached the budget on one result (DATATOOLS_MAX_RESULT_MB) at row ${r.stopped.atRow}; ask for fewer rows (n) or use execute_query with fewer columns.`);
        const total = Number((await s.query(`SELECT count(*) FROM ${duckRelationSql(rel)}`, [])).rows[0]?.[0]);
        return { rel, total, columns: duckColumns(r.fields), rows: r.rows };
      });
      return tableResult({ title: `Sample of ${o.rel.schema}.${o.rel.name}`, columns: o.columns, rows: o.rows, truncated: false,
        header: `${plural(o.rows.length, 'random row')} of ${o.rel.schema}.${o.rel.name} (${o.total.toLocaleString('en-US')} rows in all, counted), drawn by reservoir sampling over the whole ${o.rel.kind}.` });
    }
    const out = await readCatalog(ctx, i.connection, async run => {
      const rel = await resolveRelation(run, i.table_name);
      let r;
      let how = '';
      const pages = rel.pages ?? 0;
      if ((rel.kind === 'r' || rel.kind === 'm') && rel.estimate > 20 * n && rel.estimate > 10_000 && pages > 0) {
        // SYSTEM sampling reads whole pages: ask for enough pages (at least 4 per wanted row) that the n rows,
        // drawn at random among theirs, come from all over the table rather than from one or two pages
        const wantPages = Math.min(pages, Math.max(4 * n, 64));
        const pct = Math.min(100, (100 * wantPages) / pages);
        r = await run(`SELECT * FROM ${relationSql(rel)} TABLESAMPLE SYSTEM (${pct.toFixed(6)}) ORDER BY pg_catalog.random() LIMIT ${n}`);
        how = ` drawn from ~${wantPages.toLocaleString('en-US')} of its ${pages.toLocaleString('en-US')} pages`;
        if (r.rows.length < n) {
          // pages that are mostly empty: row-level sampling over the whole table
          const rowPct = Math.min(100, (100 * 50 * n) / Math.max(1, rel.estimate));
          r = await run(`SELECT * FROM ${relationSql(rel)} TABLESAMPLE BERNOULLI (${rowPct.toFixed(6)}) ORDER BY pg_catalog.random() LIMIT ${n}`);
          how = ' drawn from a row-level sample of the whole table';
        }
      }
      if (!r || r.rows.length < n) {
        r = await run(`SELECT * FROM ${relationSql(rel)} ORDER BY pg_catalog.random() LIMIT ${n}`);
        how = '';
      }
      const oids = [...new Set(r.fields.map(f => f.dataTypeID))];
      const t = await run('SELECT oid::int4, format_type(oid, NULL) FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])', [oids]);
      const names = new Map(t.rows.map(x => [Number(x[0]), String(x[1])]));
      // the real row count when it is cheap: count(*) under a short time limit, as the last statement (a timeout
      // ends the transaction, which is rolled back anyway); else the planner's estimate, said to be one
      let total: number | undefined;
      try {
        await run(`SELECT pg_catalog.set_config('statement_timeout', $1, true)`, [String(Math.min(COUNT_BUDGET_MS, ctx.config.limits.queryTimeoutSec * 1000))]);
        total = Number((await run(`SELECT pg_catalog.count(*) FROM ${relationSql(rel)}`)).rows[0]?.[0]);
      } catch (e) {
        if (e instanceof ToolError || (e as { code?: string }).code !== '57014') throw e;
      }
      return { rel, how, total, columns: r.fields.map(f => ({ name: f.name, type: names.get(f.dataTypeID) ?? `oid ${f.dataTypeID}` })), rows: r.rows };
    });
    const size = out.total !== undefined && Number.isFinite(out.total) ? `${out.total.toLocaleString('en-US')} rows in all, counted`
      : `about ${out.rel.estimate.toLocaleString('en-US')} rows in all: the planner's estimate, counting took over ${COUNT_BUDGET_MS / 1000} s`;
    return tableResult({ title: `Sample of ${out.rel.schema}.${out.rel.name}`, columns: out.columns, rows: out.rows, truncated: false,
      header: `${plural(out.rows.length, 'random row')} of ${out.rel.schema}.${out.rel.name} (${size})${out.how}.` });
  },
});
