import { z } from 'zod';
import { defineTool } from '../tool';
import { ToolError, type ColumnInfo, type TablePart } from '../result';
import { FILTER_OPS, type ColumnStats, type Filter, type OrderBy, type ResultStore } from '../store';
import { columnsLine, plural, renderRows, cellText } from '../formats/table';
import { fmtBytes } from '../storage/paths';
import { ceiling } from './common';
import { saveTable } from './db';

const TEXT_BUDGET = 6000;
/** Most rows one get_result window returns. */
export const GET_RESULT_MAX_LIMIT = 10_000;
const fmt = (n: number) => n.toLocaleString('en-US');

const scalar = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);

export const getResult = defineTool({
  name: 'get_result',
  title: 'Page, sort, filter, describe or save a stored result',
  description: 'Reads a stored result by the id a previous reply named ("Result r7k2q9: ..."): a window of rows '
    + '(offset, limit), chosen columns, sorted (order_by) and filtered (where) over the WHOLE result, not only the rows '
    + 'shown before. Gives the exact number of rows and of matching rows and the next offset. describe=true gives '
    + 'per-column statistics over the whole (filtered) result: count, nulls, distinct, min, max, mean, stddev, top '
    + 'values. save_as writes the whole (filtered, sorted, selected) result to a CSV or Parquet file for Python. '
    + 'Comparisons follow the column type: numbers and decimals by value, dates and timestamps by time, text by '
    + 'code point; NULLs sort last. Results are kept for a limited time (1 h idle by default).',
  input: z.strictObject({
    result_id: z.string().min(1).max(64).describe('The id a previous reply named, e.g. "r7k2q9".'),
    offset: z.number().int().min(0).optional().describe('First row of the window (0-based), after filter and sort. Default 0.'),
    limit: z.number().int().min(0).optional().describe(`Rows in the window. Default 100, at most ${fmt(GET_RESULT_MAX_LIMIT)}.`),
    columns: z.array(z.string().min(1).max(1000)).min(1).max(10_000).optional().describe('Only these columns, in this order.'),
    order_by: z.array(z.strictObject({ column: z.string().min(1).max(1000), desc: z.boolean().optional() })).min(1).max(20).optional()
      .describe('Sort keys, first one first; NULLs last.'),
    where: z.array(z.strictObject({
      column: z.string().min(1).max(1000),
      op: z.enum(FILTER_OPS as unknown as [string, ...string[]]),
      value: z.union([scalar, z.array(scalar).max(10_000)]).optional(),
    })).min(1).max(50).optional().describe('Conditions that must all hold. ops: = != < <= > >= contains starts_with is_null not_null in (value: a list).'),
    describe: z.boolean().optional().describe('Per-column statistics over the whole (filtered) result instead of rows.'),
    save_as: z.string().min(1).max(4096).optional().describe('Write the whole (filtered, sorted, selected) result to this .csv or .parquet file.'),
  }),
  capability: 'env.read',
  readOnly: true,
  summary: i => `Reading result ${i.result_id}`,
  handler: async (i, ctx) => {
    const store = ctx.results;
    if (!store) throw new ToolError('Stored results are not available in this context.');
    const where = i.where as Filter[] | undefined;
    for (const f of where ?? []) {
      const needs = !['is_null', 'not_null'].includes(f.op);
      if (needs && f.value === undefined) throw new ToolError(`where: op "${f.op}" on "${f.column}" needs a value.`);
      if (f.op === 'in' && !Array.isArray(f.value)) throw new ToolError(`where: op "in" on "${f.column}" needs a list value, e.g. {"column": "${f.column}", "op": "in", "value": [1, 2]}.`);
      if (f.op !== 'in' && Array.isArray(f.value)) throw new ToolError(`where: op "${f.op}" on "${f.column}" takes one value, not a list (use op "in").`);
    }
    const info = await store.info(i.result_id);
    const label = `Result ${info.id} (${info.tool}${info.title ? `: ${info.title.replace(/\s+/g, ' ').slice(0, 80)}` : ''})`;
    const source = info.sourceTruncated ? ` The source had more rows than the ${fmt(info.rows)} stored (the producing tool's limit).` : '';
    const filterText = where?.length ? ` where ${where.map(f => `${f.column} ${f.op}${f.value === undefined ? '' : ` ${JSON.stringify(f.value)}`}`).join(' AND ')}` : '';

    if (i.describe) {
      const d = await store.describe(info.id, i.columns, where);
      const columns: ColumnInfo[] = ['column', 'type', 'count', 'nulls', 'distinct', 'distinct_exact', 'min', 'max', 'mean', 'stddev', 'top_values'].map(n => ({ name: n, type: ['count', 'nulls', 'distinct'].includes(n) ? 'int8' : n === 'distinct_exact' ? 'bool' : ['mean', 'stddev'].includes(n) ? 'float8' : 'text' }));
      const rows = d.columns.map(s => statsRow(s));
      const { text } = renderRows(columns, rows, { budget: TEXT_BUDGET, maxCell: 60 });
      const part: TablePart = { kind: 'table', title: `Statistics of ${info.id}`, columns, rows, truncated: false, totalRows: rows.length };
      return {
        text: [`${label}: statistics over all ${fmt(d.matched)} rows${filterText ? ` matching${filterText}` : ''} (of ${fmt(d.rows)} stored).${source}`,
          text, 'distinct is exact where distinct_exact is true, else a lower bound (counted exactly up to 100,000 values); mean and stddev (sample) are computed in float64.'].join('\n'),
        parts: [part], metrics: { rows: d.matched },
      };
    }

    const orderBy = i.order_by as OrderBy[] | undefined;
    if (i.save_as) {
      const columns = await store.columnsOf(info.id, i.columns);
      // streamed from the store into the file: neither the rows nor the file are held whole
      const saved = await saveTable(ctx, i.save_as, columns, () => store.scan(info.id, { columns: i.columns, orderBy, where }));
      return {
        text: [`${label}: saved ${plural(saved.rows, 'row')}${filterText ? ` matching${filterText}` : ''}${orderBy ? `, ordered by ${orderBy.map(o => `${o.column}${o.desc ? ' desc' : ''}`).join(', ')}` : ''} `
          + `× ${plural(columns.length, 'column')} to ${saved.path} (${fmtBytes(saved.bytes)}); read it in Python with pandas.read_${saved.path.endsWith('.csv') ? 'csv' : 'parquet'}.${source}`,
        ...(saved.notes.length ? [`In the file: ${saved.notes.join('; ')}.`] : [])].join('\n'),
        parts: [{ kind: 'file', path: saved.path, bytes: saved.bytes }], metrics: { rows: saved.rows, bytes: saved.bytes },
      };
    }

    const lim = ceiling(i.limit, 100, GET_RESULT_MAX_LIMIT, 'limit');
    const p = await store.page(info.id, { offset: i.offset, limit: lim.value, columns: i.columns, orderBy, where });
    const from = p.offset + 1, to = p.offset + p.rows.length;
    const next = to < p.matched ? to : undefined;
    const span = p.rows.length ? `rows ${fmt(from)}–${fmt(to)} of ${fmt(p.total)}` : `no rows at offset ${fmt(p.offset)} of ${fmt(p.total)}`;
    const header = `${label}: ${span}${where?.length ? ` (matched ${fmt(p.matched)}${filterText})` : ''}`
      + `${orderBy ? `, ordered by ${orderBy.map(o => `${o.column}${o.desc ? ' desc' : ''}`).join(', ')}` : ''}. `
      + (next !== undefined ? `Next: offset=${fmt(next)}.` : 'This is the end of the result.') + source;
    const { text, shown } = renderRows(p.columns, p.rows, { budget: TEXT_BUDGET });
    const notes = [lim.note].filter((x): x is string => !!x);
    if (shown < p.rows.length) notes.push(`The text shows ${plural(shown, 'row')} of the ${fmt(p.rows.length)} in this window (text budget); the structured table holds the window, or page with a smaller limit.`);
    const part: TablePart = { kind: 'table', title: `${info.id} rows ${from}–${to}`, columns: p.columns, rows: p.rows, truncated: next !== undefined || p.offset > 0, totalRows: p.matched, resultId: info.id, storedRows: p.total, offset: p.offset };
    return { text: [header, columnsLine(p.columns), text, ...notes].join('\n'), parts: [part], metrics: { rows: p.rows.length } };
  },
});

function statsRow(s: ColumnStats): unknown[] {
  const v = (x: unknown) => x === null || x === undefined ? null : cellText(x, 200, s.type);
  return [s.column, s.type, s.count, s.nulls, s.distinct, s.distinctExact, v(s.min), v(s.max), s.mean ?? null, s.stddev ?? null,
    s.top.length ? s.top.map(t => `${cellText(t.value, 40, s.type)} (${fmt(t.count)})`).join(', ') : null];
}

/** For front ends: the store behind get_result. */
export type { ResultStore };
