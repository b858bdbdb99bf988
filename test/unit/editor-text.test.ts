import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { cellsOf, derivedRelations, errorPosition, fromTables, statementAround } from '../../src/extension/parse';
import { ToolHost } from '../../src/core/host';
import { resolveConfig } from '../../src/core/config';
import { tmpDir } from '../helpers/mcp';

test('fromTables: FROM and JOIN items with schemas, aliases (AS or not) and quoted names; keywords are not aliases', () => {
  assert.deepEqual(fromTables('SELECT u. FROM users u'), [{ table: 'users', alias: 'u' }]);
  assert.deepEqual(fromTables('select * from public.users as u join "Sales"."Orders" o on o.user_id = u.id where true'),
    [{ schema: 'public', table: 'users', alias: 'u' }, { schema: 'Sales', table: 'Orders', alias: 'o' }]);
  assert.deepEqual(fromTables('SELECT 1 FROM users WHERE id = 1'), [{ table: 'users', alias: undefined }]);
  assert.deepEqual(fromTables('SELECT 1 FROM a x, b.c y, d'), [{ table: 'a', alias: 'x' }, { schema: 'b', table: 'c', alias: 'y' }, { table: 'd', alias: undefined }]);
  assert.deepEqual(fromTables('SELECT 1 FROM users LEFT JOIN orders ON true'), [{ table: 'users', alias: undefined }, { table: 'orders', alias: undefined }]);
});

test('statementAround: the text between the semicolons around the cursor, with its offset', () => {
  const text = 'SELECT 1;\nSELECT u. FROM users u;\nSELECT 3';
  const at = text.indexOf('u.') + 2;
  const s = statementAround(text, at);
  assert.equal(s.text, '\nSELECT u. FROM users u');
  assert.equal(s.start, 9);
  assert.equal(statementAround(text, text.length).text, '\nSELECT 3');
});

test('cellsOf: "# %%" starts a cell that runs to the next marker; code before the first marker is no cell', () => {
  const cells = cellsOf('import os\n# %%\nx = 1\n\n# %% second\nprint(x)\n');
  assert.deepEqual(cells.map(c => [c.index, c.start, c.end, c.code]), [[0, 1, 3, 'x = 1\n'], [1, 4, 6, 'print(x)\n']]);
  assert.deepEqual(cellsOf('print(1)\n'), []);
});

test('errorPosition reads the position core puts in a query error, from the real sample database (the squiggle lands on the typo)', async () => {
  const dir = tmpDir('editor-text');
  const h = new ToolHost(resolveConfig({ allowedPaths: [dir], auditLogPath: path.join(dir, 'a.jsonl') }));
  try {
    const sql = 'SELECT id,\n       nmae\nFROM users';
    const r = await h.call('execute_query', { query: sql }, { caller: 'test' });
    assert.equal(r.isError, true);
    const at = errorPosition(r.text);
    assert.ok(at !== undefined, r.text);
    assert.equal(sql.slice(at - 1, at - 1 + 4), 'nmae');
    assert.match(r.text, /Hint: Perhaps you meant to reference the column "users\.name"/, 'the sample forwards the hint too');
    // a syntax error is found before the server, with a position as well
    const s = await h.call('execute_query', { query: 'SELECT 1 FROM users WHER id = 1' }, { caller: 'test' });
    const p = errorPosition(s.text);
    assert.ok(p !== undefined, s.text);
    assert.equal('SELECT 1 FROM users WHER id = 1'.slice(p - 1, p + 1), 'id');
    assert.equal(errorPosition('PostgreSQL ERROR 42P01: relation "x" does not exist.'), undefined);
  } finally {
    await h.dispose();
  }
});

test('derivedRelations: CTE names and FROM-subquery aliases with their columns, read by PostgreSQL\'s parser, while the statement is still being typed', async () => {
  // the cursor after "t." makes the whole statement invalid SQL: the CTE body alone still parses
  const [t] = await derivedRelations('WITH t AS (SELECT a, b FROM x) SELECT t. FROM t');
  assert.deepEqual(t, { name: 't', kind: 'cte', columns: ['a', 'b'], stars: [], tables: [{ table: 'x', alias: undefined }] });
  const s = await derivedRelations('SELECT s. FROM (SELECT u.id, u.name AS who, count(*), price::numeric, upper(city) FROM users u GROUP BY 1, 2, 4, 5) AS s JOIN orders o ON o.uid = s.id');
  assert.deepEqual(s.map(r => [r.name, r.kind, r.columns]), [['s', 'subquery', ['id', 'who', 'count', 'price', 'upper']]]);
  // several CTEs, RECURSIVE, a column list, MATERIALIZED, quoted names, a UNION (names from its first SELECT), VALUES
  const many = await derivedRelations(`WITH RECURSIVE "Big T"(x, "Y") AS (SELECT 1, 2), m AS MATERIALIZED (SELECT k FROM a UNION SELECT j FROM b),
    v AS (VALUES (1, 'a')) SELECT * FROM "Big T", m, v, (SELECT * FROM users) star, LATERAL (SELECT e.* FROM events e) ev`);
  assert.deepEqual(many.map(r => [r.name, r.kind, r.columns, r.stars]), [
    ['Big T', 'cte', ['x', 'Y'], []], ['m', 'cte', ['k'], []], ['v', 'cte', ['column1', 'column2'], []],
    ['star', 'subquery', [], [{}]], ['ev', 'subquery', [], [{ qualifier: 'e' }]]]);
  assert.deepEqual(many.find(r => r.name === 'star')!.tables, [{ table: 'users', alias: undefined }]);
  // a body still being typed is left out, the others stay; IN (SELECT …) and a CTE body are not subqueries
  assert.deepEqual((await derivedRelations('WITH a AS (SELECT id FROM x), b AS (SELECT FROM WHERE) SELECT a. FROM a WHERE id IN (SELECT id FROM y)')).map(r => r.name), ['a']);
  assert.deepEqual(await derivedRelations('WITH a AS (SELECT id FROM x'), []);
  // a scalar subquery in the select list is not a relation, even with an alias
  assert.deepEqual(await derivedRelations('SELECT a, (SELECT max(x) FROM y) AS m FROM t AS tt, (SELECT 1 AS one) o'), [
    { name: 'o', kind: 'subquery', columns: ['one'], stars: [], tables: [] }]);
  assert.deepEqual(await derivedRelations('SELECT 1'), []);
});
