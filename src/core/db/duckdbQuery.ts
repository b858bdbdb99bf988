// execute_query on a DuckDB connection: DuckDB's own check of the statement, then the rows streamed and cut at
// max_rows (a row past it says there are more) and at the byte budgets, as on PostgreSQL.
import type { ToolContext } from '../tool';
import type { ColumnInfo } from '../result';
import { ToolError } from '../result';
import { byteBudget, dbError, type QueryInput, type QueryOutput } from './service';
import { duckError, type DuckDBDatabase } from './duckdb';
import type { Field, RowSink } from './types';

export const duckColumns = (fields: Field[]): ColumnInfo[] => fields.map(f => ({ name: f.name, type: f.typeName ?? `type ${f.dataTypeID}` }));

export async function runDuckQuery(ctx: ToolContext, db: DuckDBDatabase, o: QueryInput): Promise<QueryOutput> {
  const timeoutMs = Math.round(o.timeoutSec * 1000);
  const started = performance.now();
  try {
    return await db.session(timeoutMs, ctx.signal, async s => {
      const kind = await s.check(o.query);
      let columns: ColumnInfo[] = [];
      let n = 0;
      const onRows: RowSink | undefined = ctx.onRows || ctx.onProgress ? batch => {
        n += batch.length;
        ctx.onProgress?.({ kind: 'status', text: `${n.toLocaleString('en-US')} rows received` });
        return ctx.onRows?.({ columns, rows: batch });
      } : undefined;
      const r = await s.query(o.query, o.params, {
        budget: byteBudget(ctx.config.limits), maxRows: o.maxRows, onRows,
        onFields: f => { columns = duckColumns(f); },
      });
      columns = duckColumns(r.fields);
      const truncated = !!r.more || !!r.stopped;
      const out: QueryOutput = { columns, rows: r.rows, truncated, elapsedMs: 0, statement: kind };
      if (r.stopped) {
        out.stopped = { atRow: r.stopped.atRow, limitBytes: r.stopped.limitBytes };
        if (o.count) out.countNote = 'not counted: the query was stopped at the byte budget';
      } else if (!truncated) out.total = r.rows.length;
      else if (o.count && kind !== 'select') out.countNote = 'not counted: only a SELECT can be counted';
      else if (o.count) {
        // the exact total in the same read-only transaction, within the same deadline
        try {
          const body = o.query.replace(/[\s;]+$/, '');
          const c = await s.query(`SELECT count(*) FROM (\n${body}\n)`, o.params);
          out.total = Number(c.rows[0]?.[0]);
        } catch (e) {
          out.countNote = `not counted: ${(duckError(e) as Error).message}`;
        }
      }
      out.elapsedMs = Math.round(performance.now() - started);
      return out;
    });
  } catch (e) {
    if (e instanceof ToolError) throw e;
    throw dbError(duckError(e), o.timeoutSec);
  }
}
