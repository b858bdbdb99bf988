import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connectMcp, tmpDir } from '../helpers/mcp';
import { boundReply, measureRequest } from '../../src/core/bounds';
import { DEFAULT_LIMITS, configFromEnv } from '../../src/core/config';
import { ToolHost } from '../../src/core/host';
import { toParquetFile } from '../../src/core/formats/parquetWrite';
import { columnsLine, renderRows } from '../../src/core/formats/table';
import { DISPLAYS_CAP_BYTES, OUTPUT_CAP_BYTES, OutputBudget } from '../../src/core/exec/output';
import { BoundedReadBuffer, isOversized, nestingDepth } from '../../src/mcp/transport';

// Issue 15: a reply can never end a session, limits are ceilings, oversized requests get tool errors.
const TEXT_BUDGET = DEFAULT_LIMITS.replyTextChars;
const DATA_BUDGET = DEFAULT_LIMITS.replyStructuredBytes;

type Reply = { content: { type: string; text?: string }[]; structuredContent?: unknown; isError?: boolean };

function checkBudget(r: Reply, what: string): string {
  const text = r.content.filter(c => c.type === 'text').map(c => c.text ?? '').join('\n');
  assert.ok(text.length <= TEXT_BUDGET, `${what}: text of ${text.length} chars is over the ${TEXT_BUDGET} budget`);
  const data = r.structuredContent === undefined ? 0 : JSON.stringify(r.structuredContent).length;
  // the budget is counted on values before JSON (quotes and separators add a little); a tenth is the allowance
  assert.ok(data <= DATA_BUDGET * 1.1, `${what}: structuredContent of ${data} bytes is over the ${DATA_BUDGET} budget`);
  return text;
}

test('unit: the text renderers bound column lists, header lines and wide rows; request measuring needs no stack', () => {
  const cols = Array.from({ length: 20_000 }, (_, i) => ({ name: `column_with_a_long_name_${i}`, type: 'text' }));
  const line = columnsLine(cols);
  assert.ok(line.length < 4200, `columns line of ${line.length}`);
  assert.match(line, /and 19,\d{3} more \(20,000 columns in all/);
  const { text, shown } = renderRows(cols, [cols.map(() => 'v')], { budget: 6000 });
  assert.equal(shown, 1);
  assert.ok(text.length < 13_000, `rendered ${text.length}`);
  assert.match(text, /line cut; 20,000 columns in all/);
  let deep: unknown = 'x';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.equal(measureRequest({ a: deep }, 1e9, 64).over, 'depth');
  assert.equal(measureRequest({ a: 'x'.repeat(2000) }, 1000, 64).over, 'bytes');
  const r = boundReply({ text: 'y'.repeat(100_000), parts: [{ kind: 'table', columns: [{ name: 'a', type: 'text' }], rows: [['z'.repeat(50_000)]], truncated: false }] }, DEFAULT_LIMITS);
  assert.ok(r.text.length <= TEXT_BUDGET);
  assert.match(r.text, /text cut: 100,000 characters in all/);
  assert.match(r.text, /1 long cell value is cut/);
  const cell = (r.parts[0] as { rows: unknown[][] }).rows[0][0] as string;
  assert.match(cell, /… \[cut: 50,000 chars in all\]$/);
});

test('unit: the MCP line reader drops an oversized line unjoined and refuses a too deeply nested one unparsed', () => {
  // brackets inside strings (and escaped quotes) do not count
  assert.equal(nestingDepth(Buffer.from('{"a":[1,{"b":"[[[[\\"[["}]}'), 100), 3);
  assert.equal(nestingDepth(Buffer.from('['.repeat(1000) + ']'.repeat(1000)), 10), 11, 'stops just past the limit');
  const buf = new BoundedReadBuffer(1000, 10);
  const ok = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"a":[[["x"]]]}}}';
  const big = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"write_file","arguments":{"content":"${'w'.repeat(5000)}"}}}`;
  const deep = `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"q","arguments":{"a":${'['.repeat(20)}${']'.repeat(20)}}}}`;
  const all = Buffer.from(`${ok}\n${big}\n${deep}\n${ok}\n`);
  // in small chunks, as a pipe delivers them
  for (let i = 0; i < all.length; i += 300) buf.append(all.subarray(i, i + 300));
  const got = [buf.next(), buf.next(), buf.next(), buf.next(), buf.next()];
  assert.deepEqual((got[0] as { id: number }).id, 1);
  assert.ok(isOversized(got[1]));
  assert.deepEqual({ ...got[1] }, { bytes: big.length, id: 2, method: 'tools/call', tool: 'write_file' });
  assert.ok(isOversized(got[2]));
  assert.deepEqual({ ...got[2] }, { bytes: deep.length, id: 3, method: 'tools/call', tool: 'q', deeperThan: 10 });
  assert.deepEqual((got[3] as { id: number }).id, 1);
  assert.equal(got[4], null);
});

test('unit: one output budget for the Jupyter and E2B backends: streams cut in UTF-8 bytes at 1 MiB together, displays bounded', () => {
  const b = new OutputBudget();
  assert.equal(b.stream('stdout', 'ab'), 'ab');
  // 2-byte and 4-byte characters: never split, the bytes kept and dropped add up
  const kept = b.stream('stderr', `${'é'.repeat(400_000)}${'😀'.repeat(100_000)}`);
  assert.equal(b.stderr, kept);
  assert.ok(Buffer.byteLength(kept) <= OUTPUT_CAP_BYTES - 2 && Buffer.byteLength(kept) > OUTPUT_CAP_BYTES - 6);
  assert.doesNotMatch(kept, /[\uD800-\uDBFF]$/, 'no half of a surrogate pair');
  assert.equal(b.dropped, 1_200_000 - Buffer.byteLength(kept));
  assert.equal(b.stream('stdout', 'mo'), '', 'after a cut nothing more is kept, even what would fit');
  assert.equal(b.dropped, 1_200_002 - Buffer.byteLength(kept));
  b.result({ isMainResult: true, text: 't'.repeat(2_000_000) });
  b.result({ isMainResult: false, png: 'A'.repeat(17 * 1024 * 1024) });
  for (let i = 0; i < 40; i++) b.result({ isMainResult: false, html: 'h'.repeat(1_000_000) });
  const rs = b.results();
  assert.match(rs[0].text!, /\n… \[cut: 2,000,000 characters in all\]$/);
  assert.equal(rs[1].png, undefined);
  assert.match(rs[1].text!, /an image of 17,825,792 base64 characters was left out/);
  const html = rs.filter(r => r.html).length;
  assert.ok(html * 1_000_000 + 1024 * 1024 <= DISPLAYS_CAP_BYTES && (html + 1) * 1_000_000 + 1024 * 1024 > DISPLAYS_CAP_BYTES - 200, `${html} displays kept`);
  assert.match(rs.at(-1)!.text!, new RegExp(`^\\[output cut: ${40 - html} more displays \\([\\d.]+ MB\\) not shown: the displays of one call are capped at 32 MB`));
});

test('file reads hold at most DATATOOLS_MAX_RESULT_MB of rows and DATATOOLS_MAX_ROW_MB per row, counted in bytes: CSV, JSON Lines, Parquet stop at the row that does not fit and say so', async () => {
  const dir = tmpDir('filebudget');
  const host = new ToolHost(configFromEnv({ DATATOOLS_ROLE: 'data_scientist', DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl'),
    DATATOOLS_MAX_RESULT_MB: '1', DATATOOLS_MAX_ROW_MB: '1' }));
  const call = (name: string, input: unknown) => host.call(name, input, { caller: 'test' });
  const MB = 1024 * 1024;
  const pad = (i: number) => `${'é'.repeat(i % 7)}${'p'.repeat(5000)}`; // 2-byte characters too: bytes, not characters
  const utf8 = (x: string) => Buffer.byteLength(x);
  /** The first row (1-based) at which `bytes` of the rows so far (after `start`) pass 1 MB. */
  const stopRow = (bytes: (i: number) => number, start = 0) => { let t = start; for (let i = 1; ; i++) { t += bytes(i); if (t > MB) return i; } };
  try {
    // CSV: each value counted as its UTF-8 bytes plus 4
    fs.writeFileSync(path.join(dir, 'rows.csv'), `id,pad\n${Array.from({ length: 400 }, (_, k) => `${k + 1},${pad(k + 1)}`).join('\n')}\n`);
    const k = stopRow(i => 4 + utf8(String(i)) + 4 + utf8(pad(i)), 4 + 2 + 4 + 3);
    let r = await call('read_csv', { file_path: path.join(dir, 'rows.csv'), n_rows: 1000 });
    assert.notEqual(r.isError, true, r.text.slice(0, 400));
    assert.match(r.text, new RegExp(`\\nTRUNCATED: stopped at row ${k} \\(line ${k + 1}\\), where the rows read reached the 1 MB budget on one result \\(DATATOOLS_MAX_RESULT_MB\\); the rows before it are exact`));
    assert.match(r.text, new RegExp(`^${dir.replace(/[/.]/g, '\\$&')}/rows\\.csv \\([^)]*\\): more than ${k - 1} rows, encoding`));
    let t = r.parts.find(p => p.kind === 'table') as { rows: unknown[][]; truncated: boolean };
    assert.equal(t.rows.length, k - 1);
    assert.equal(t.truncated, true);
    t.rows.forEach((row, i) => assert.deepEqual(row, [i + 1, pad(i + 1)]));

    // one value over the 1 MB row limit (stopped inside the parser): the rows before it, and where
    fs.writeFileSync(path.join(dir, 'field.csv'), `id,v\n1,a\n2,b\n3,c\n4,d\n5,${'x'.repeat(2 * MB)}\n6,f\n`);
    r = await call('read_csv', { file_path: path.join(dir, 'field.csv') });
    assert.notEqual(r.isError, true, r.text.slice(0, 400));
    assert.match(r.text, /\nTRUNCATED: stopped at row 5 \(line 6\), which is over the 1 MB limit on one row \(DATATOOLS_MAX_ROW_MB\); the rows before it are exact/);
    t = r.parts.find(p => p.kind === 'table') as typeof t;
    assert.deepEqual(t.rows, [[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd']]);

    // JSON Lines: each line counted as its UTF-8 bytes
    const line = (i: number) => JSON.stringify({ id: i, pad: pad(i) });
    fs.writeFileSync(path.join(dir, 'rows.jsonl'), `${Array.from({ length: 400 }, (_, j) => line(j + 1)).join('\n')}\n`);
    const kj = stopRow(i => utf8(line(i)));
    r = await call('read_csv', { file_path: path.join(dir, 'rows.jsonl'), n_rows: 1000 });
    assert.match(r.text, new RegExp(`\\nTRUNCATED: stopped at row ${kj} \\(line ${kj}\\), where the rows read reached the 1 MB budget`));
    t = r.parts.find(p => p.kind === 'table') as typeof t;
    assert.equal(t.rows.length, kj - 1);
    t.rows.forEach((row, i) => assert.deepEqual(row, [i + 1, pad(i + 1)]));

    // Parquet (two row groups, so the stop can fall in the second): values counted as in the value model
    const cols = [{ name: 'id', type: 'int32' }, { name: 'pad', type: 'string' }];
    const pq = await toParquetFile(cols, Array.from({ length: 400 }, (_, j) => [j + 1, pad(j + 1)]), 150);
    fs.writeFileSync(path.join(dir, 'rows.parquet'), pq.bytes);
    const kp = stopRow(i => 12 + 4 + utf8(pad(i)));
    r = await call('read_parquet', { file_path: path.join(dir, 'rows.parquet'), n_rows: 1000 });
    assert.notEqual(r.isError, true, r.text.slice(0, 400));
    assert.match(r.text, /: 400 rows; first \d+ read/);
    assert.match(r.text, new RegExp(`\\nTRUNCATED: stopped at row ${kp}, where the rows read reached the 1 MB budget on one result \\(DATATOOLS_MAX_RESULT_MB\\)`));
    t = r.parts.find(p => p.kind === 'table') as typeof t;
    assert.equal(t.rows.length, kp - 1);
    t.rows.forEach((row, i) => assert.deepEqual(row, [i + 1, pad(i + 1)]));

    // read_file streams: a 30 MB line costs a window of it, and the count is still exact
    fs.writeFileSync(path.join(dir, 'long.txt'), `first\r\n${'L'.repeat(30 * MB)}\r\nthird\n`);
    r = await call('read_file', { file_path: path.join(dir, 'long.txt') });
    assert.notEqual(r.isError, true, r.text.slice(0, 400));
    assert.match(r.text, /^\S+long\.txt: 3 lines, [\d.]+ MB\. Lines 1-2 \(more: continue with offset 2\); cut at 20,000 characters\.\nfirst\nL{10000}/);
    r = await call('read_file', { file_path: path.join(dir, 'long.txt'), offset: 2 });
    assert.match(r.text, /: 3 lines, [\d.]+ MB\. Lines 3-3 \(to the end\)\.\nthird$/);
  } finally {
    await host.dispose();
  }
});

test('MCP: pathological files, wide results and oversized requests: every reply within budget, session alive, one audit line each', async () => {
  const dir = tmpDir('bounds');
  const audit = path.join(dir, 'audit.jsonl');
  const { client, close, stderr } = await connectMcp({ DATATOOLS_ROLE: 'ml_engineer', DATATOOLS_AUDIT_LOG: audit, DATATOOLS_ALLOWED_PATHS: dir });
  const lines = () => fs.existsSync(audit) ? fs.readFileSync(audit, 'utf8').split('\n').filter(Boolean) : [];
  const call = async (name: string, args: Record<string, unknown>, what: string): Promise<{ r: Reply; text: string; entry: Record<string, unknown> }> => {
    const before = lines().length;
    const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 }) as Reply;
    const text = checkBudget(r, what);
    const after = lines();
    assert.equal(after.length, before + 1, `${what}: one audit line`);
    // the session is alive: a trivial call still answers
    const ping = await client.callTool({ name: 'get_environment', arguments: {} }) as Reply;
    assert.notEqual(ping.isError, true, `${what}: the session must survive`);
    return { r, text, entry: JSON.parse(after[after.length - 1]) };
  };
  type Paged = { columns: { name: string }[]; rows: unknown[][]; result_id?: string; total_rows: number | null; next_offset?: number | null; truncated: boolean };
  /** The id of the stored result a reply names, in its text, its structured table and its resource link. */
  const resultId = (r: Reply, text: string): string => {
    const m = /\bResult (r[0-9a-z]+): /.exec(text);
    assert.ok(m, `the reply names its stored result: ${text.slice(-600)}`);
    assert.equal((r.structuredContent as { tables: Paged[] }).tables[0].result_id, m[1]);
    assert.ok((r.content as { type: string; uri?: string }[]).some(c => c.type === 'resource_link' && c.uri === `datatools://results/${m[1]}`));
    return m[1];
  };
  /** One get_result window over the same session, within the same reply budget. */
  const getResult = async (args: Record<string, unknown>, what: string): Promise<Paged> => {
    const r = await client.callTool({ name: 'get_result', arguments: args }, undefined, { timeout: 120_000 }) as Reply;
    const text = checkBudget(r, what);
    assert.notEqual(r.isError, true, `${what}: ${text.slice(0, 500)}`);
    return (r.structuredContent as { tables: Paged[] }).tables[0];
  };
  try {
    // a 20,000-column CSV
    const wide = path.join(dir, 'wide.csv');
    const names = Array.from({ length: 20_000 }, (_, i) => `column_number_${i}`);
    fs.writeFileSync(wide, `${names.join(',')}\n${names.map((_, i) => i).join(',')}\n`);
    let o = await call('read_csv', { file_path: wide }, '20,000 columns');
    assert.notEqual(o.r.isError, true, o.text.slice(0, 500));
    assert.match(o.text, /20,000 columns in all/);
    let t = (o.r.structuredContent as { tables: { columns: unknown[]; rows: unknown[][]; truncated: boolean }[] }).tables[0];
    assert.equal(t.columns.length, 1000);
    assert.equal(t.truncated, true);
    assert.match(o.text, /first 1,000 of 20,000 columns/);
    // the whole result is stored: paging through it in slices of 1,000 columns gives every column of the data row
    // exactly once, equal to the file
    let id = resultId(o.r, o.text);
    const cells = new Map<string, unknown>();
    for (let k = 0; k < names.length; k += 1000) {
      const slice = names.slice(k, k + 1000);
      const p = await getResult({ result_id: id, columns: slice }, `get_result columns ${k}-${k + 999} of 20,000`);
      assert.deepEqual(p.columns.map(c => c.name), slice);
      assert.equal(p.total_rows, 1);
      assert.equal(p.next_offset, null);
      assert.equal(p.rows.length, 1);
      p.columns.forEach((c, j) => { assert.ok(!cells.has(c.name), `${c.name} once`); cells.set(c.name, p.rows[0][j]); });
    }
    assert.equal(cells.size, 20_000);
    names.forEach((n, i) => assert.equal(cells.get(n), i, n));

    // a 5 MB single line (about 870,000 columns)
    const line = path.join(dir, 'line.csv');
    fs.writeFileSync(line, `${Array.from({ length: 870_000 }, (_, i) => `cc${i % 1000}x`).join(',')}\n`);
    assert.ok(fs.statSync(line).size >= 5_000_000, `${fs.statSync(line).size} bytes`);
    o = await call('read_csv', { file_path: line }, '5 MB line');
    // read as a header (detected): a bounded reply of no rows; the first 20,000 columns are read and stored, the
    // others are said (issue 24: 870,000 columns cost the server over a GB)
    assert.notEqual(o.r.isError, true, o.text.slice(0, 500));
    assert.match(o.text, /line\.csv \([\d.]+ MB\): 0 rows, .*header row \(detected; pass header=false if wrong\)/);
    assert.match(o.text, /Only the first 20,000 of the 870,000 columns are read; the other 850,000 are not in the result/);
    assert.match(o.text, /… \[line cut; 20,000 columns in all\]/);
    assert.match(o.text, /holds the first 1,000 of 20,000 columns; pass `columns` to choose others/);
    assert.match(o.text, /Result r[0-9a-z]+: 0 rows × 20,000 columns stored/);
    t = (o.r.structuredContent as { tables: typeof t[] }).tables[0];
    assert.equal(t.columns.length, 1000);
    assert.equal(t.rows.length, 0);
    assert.equal(t.truncated, true);
    // the same line as data: one row of its first 20,000 values, the first 1,000 in the reply, exact
    o = await call('read_csv', { file_path: line, header: false }, '5 MB line as data');
    assert.notEqual(o.r.isError, true, o.text.slice(0, 500));
    assert.match(o.text, /line\.csv \([\d.]+ MB\): 1 row, /);
    assert.match(o.text, /Only the first 20,000 of the 870,000 columns are read/);
    assert.match(o.text, /Result r[0-9a-z]+: 1 row × 20,000 columns stored/);
    t = (o.r.structuredContent as { tables: typeof t[] }).tables[0];
    assert.equal(t.columns.length, 1000);
    assert.deepEqual(t.rows, [Array.from({ length: 1000 }, (_, i) => `cc${i}x`)]);

    // one 12 MB field
    const field = path.join(dir, 'field.csv');
    fs.writeFileSync(field, `id,big\n1,${'b'.repeat(12_000_000)}\n2,small\n`);
    o = await call('read_csv', { file_path: field }, '12 MB field');
    assert.notEqual(o.r.isError, true, o.text.slice(0, 500));
    t = (o.r.structuredContent as typeof o.r.structuredContent & { tables: typeof t[] }).tables[0];
    assert.match(String(t.rows[0][1]), /… \[cut: 12,000,000 chars in all\]$/);
    assert.equal(t.rows[1][1], 'small', 'values under the cell limit are exact');
    assert.match(o.text, /long cell value is cut/);

    // read_parquet at its default n_rows on a small file of long strings (the 760 KB file made a reply over
    // the client's 10 MB limit): a bounded reply, the cut said, and the stored result holds every value whole
    const longCols = [{ name: 'id', type: 'int32' }, { name: 's', type: 'string' }];
    const longVal = (i: number) => `${i}:`.padEnd(6000, String.fromCharCode(97 + (i % 26)));
    const longPq = path.join(dir, 'long.parquet');
    fs.writeFileSync(longPq, (await toParquetFile(longCols, Array.from({ length: 2000 }, (_, i) => [i, longVal(i)]))).bytes);
    assert.ok(fs.statSync(longPq).size < 1_000_000, `${fs.statSync(longPq).size} bytes on disk, 12 MB of text`);
    o = await call('read_parquet', { file_path: longPq }, 'read_parquet of long strings');
    assert.notEqual(o.r.isError, true, o.text.slice(0, 500));
    assert.match(o.text, /: 2,000 rows; first 100 read/);
    t = (o.r.structuredContent as { tables: typeof t[] }).tables[0];
    assert.equal(t.rows.length, 100);
    // each long value cut with its full length said; the stored result pages back the same rows
    t.rows.forEach((row, i) => { assert.equal(row[0], i); assert.equal(String(row[1]), `${longVal(i).slice(0, String(row[1]).indexOf('…'))}… [cut: 6,000 chars in all]`); });
    const back = await getResult({ result_id: resultId(o.r, o.text), offset: 42, limit: 1 }, 'get_result of one long row');
    assert.equal(back.total_rows, 100);
    assert.deepEqual(back.rows, [t.rows[42]]);

    // 10,000 wide rows from execute_query (the embedded sample)
    const cols = Array.from({ length: 20 }, (_, i) => `repeat(chr(97 + ${i}), 100) AS c${i}`).join(', ');
    o = await call('execute_query', { query: `SELECT g, ${cols} FROM generate_series(1, 10000) g` }, '10,000 wide rows');
    assert.notEqual(o.r.isError, true, o.text.slice(0, 500));
    t = (o.r.structuredContent as { tables: typeof t[] }).tables[0];
    assert.ok(t.rows.length > 0 && t.rows.length < 10_000, `${t.rows.length} rows in the reply`);
    assert.equal(t.truncated, true);
    // the rows that are there are the first ones, exact
    t.rows.forEach((row, i) => { assert.equal(row[0], i + 1); assert.equal(row[1], 'a'.repeat(100)); });
    // over MCP a first window is inlined; the whole result is stored under the id the text names (issue 15 result store)
    assert.equal(t.rows.length, 100);
    assert.match(o.text, /Result r[0-9a-z]+: 10,000 rows × 21 columns stored; page, sort, filter or describe it with get_result/);
    assert.match(o.text, /save_as/);
    // paging through the stored result with get_result gives every row exactly once, every cell equal to the source
    id = resultId(o.r, o.text);
    const wideRow = (g: number) => [g, ...Array.from({ length: 20 }, (_, j) => String.fromCharCode(97 + j).repeat(100))];
    const paged: unknown[][] = [];
    for (let offset: number | null | undefined = 0; offset !== null && offset !== undefined;) {
      const p: Paged = await getResult({ result_id: id, offset, limit: 800 }, `get_result offset ${offset}`);
      assert.equal(p.total_rows, 10_000);
      assert.equal(p.columns.length, 21);
      assert.ok(p.rows.length > 0, `rows at offset ${offset}`);
      paged.push(...p.rows);
      if (p.next_offset !== null) assert.equal(p.next_offset, offset + p.rows.length, 'the next window starts after the last row given');
      offset = p.next_offset;
    }
    assert.equal(paged.length, 10_000);
    paged.forEach((row, i) => assert.deepEqual(row, wideRow(i + 1), `row ${i + 1}`));

    // max_rows above the ceiling (10,000 by default): lowered to it, and said
    o = await call('execute_query', { query: 'SELECT g FROM generate_series(1, 30000) g', max_rows: 20_000 }, 'max_rows above the ceiling');
    assert.match(o.text, /^10,000 rows returned .*TRUNCATED at max_rows=10,000/);
    assert.match(o.text, /max_rows=20,000 is above the configured limit of 10,000; 10,000 was used/);
    o = await call('execute_query', { query: 'SELECT 1', timeout: 3000 }, 'timeout above the ceiling');
    assert.match(o.text, /timeout=3,000 s is above the configured limit of 30 s/);

    // a 5 MB value from the database: cut in the data with its length, the text bounded
    o = await call('execute_query', { query: "SELECT repeat('x', 5000000) AS big" }, '5 MB value');
    t = (o.r.structuredContent as { tables: typeof t[] }).tables[0];
    assert.match(String(t.rows[0][0]), /… \[cut: 5,000,000 chars in all\]$/);

    // a 10 MB code argument: a tool error naming the limit
    o = await call('execute_code', { code: `x = 1\n${'#'.repeat(10_000_000)}` }, '10 MB code');
    assert.equal(o.r.isError, true);
    assert.match(o.text, /code.*(1,000,000|1000000)/);

    // a 150 MB write_file: refused as it arrives, with a tool error naming the limit
    o = await call('write_file', { file_path: path.join(dir, 'huge.txt'), content: 'w'.repeat(150_000_000) }, '150 MB write');
    assert.equal(o.r.isError, true);
    assert.match(o.text, /over the 33,619,968-byte limit on one request \(DATATOOLS_MAX_REQUEST_BYTES, counted as sent/);
    assert.equal(o.entry.outcome, 'refused');
    assert.equal(o.entry.tool, 'write_file');
    assert.ok(!fs.existsSync(path.join(dir, 'huge.txt')));

    // arguments nested thousands of levels deep
    let deep: unknown = 1;
    for (let i = 0; i < 2500; i++) deep = [deep];
    o = await call('execute_query', { query: deep }, 'deeply nested arguments');
    assert.equal(o.r.isError, true);
    assert.match(o.text, /nested more than 64 levels deep/);
    assert.equal(o.entry.outcome, 'refused');
    assert.ok(JSON.stringify(o.entry).length < 2000, 'the audit line holds the shape of the request, not its content');
  } finally {
    await close();
  }
  assert.doesNotMatch(stderr(), /uncaught|unhandled/);
});
