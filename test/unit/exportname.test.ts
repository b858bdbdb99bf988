import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { exportName } from '../../src/extension/results';
import type { CallResult } from '../../src/core/host';

// Issue 27: Export CSV suggested "result.csv" for everything; it names the file after the table or the query.
const time = new Date(2026, 0, 7, 9, 5).getTime();
const query = (q: string): CallResult => ({ text: '', auditId: 'a', outcome: 'ok', durationMs: 1,
  parts: [{ kind: 'table', title: q, columns: [{ name: 'x', type: 'int4' }], rows: [], truncated: false }] });

test('a table preview is named after its table (without the schema or quotes); a filtered one says so', () => {
  const preview = (relation: string, search?: string) => exportName({ tool: 'execute_query', time, result: query(`SELECT * FROM ${relation}`),
    preview: { connection: 'c', relation, rows: 10, ...(search ? { search: { text: search, columns: ['x'] } } : {}) } });
  assert.equal(preview('public.customers'), 'customers');
  assert.equal(preview('"My Schema"."Order Lines"'), 'Order_Lines');
  assert.equal(preview('public."a.b"'), 'a.b');
  assert.equal(preview('public.customers', 'ann'), 'customers-matching');
});

test("a query is named after its first table, past comments, strings and subqueries; else query-<date>-<time>", () => {
  const q = (sql: string) => exportName({ tool: 'execute_query', time, result: query(sql) });
  assert.equal(q('SELECT id, name FROM public.customers c JOIN orders o USING (id)'), 'customers');
  assert.equal(q("-- from notes\nSELECT 'from x' AS s FROM sales.\"Orders\""), 'Orders');
  assert.equal(q('SELECT * FROM (SELECT * FROM big) s'), 'big');
  assert.equal(q('SELECT 1 AS one'), 'query-20260107-0905');
  assert.equal(exportName({ tool: 'get_result', time, result: query('') }), 'get_result-20260107-0905');
  assert.equal(exportName({ tool: 'read_file', time, file: '/d/sales 2024.parquet', result: query('') }), 'sales_2024');
});
