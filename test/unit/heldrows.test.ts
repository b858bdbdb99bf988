import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { FIRST, HELD_BYTES, ResultStore, WHOLE } from '../../src/extension/results';
import type { CallResult } from '../../src/core/host';
import type { TablePart } from '../../src/core/result';
import { rowBytes } from '../../src/core/store';

// Issue 15: the extension's list of recent results must not hold every row of every result beside the result store
// (the grid pages big results from the store). Its memory is bounded by HELD_BYTES whatever was run.

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let seq = 0;
function result(rows: number, opts: { stored?: boolean; width?: number } = {}): CallResult {
  const w = opts.width ?? 40;
  const data: unknown[][] = [];
  for (let i = 0; i < rows; i++) data.push([i, BigInt(i) * 9007199254740993n, `${String(i).padStart(8, '0')}${'x'.repeat(w)}`]);
  const part: TablePart = { kind: 'table', columns: [{ name: 'i', type: 'integer' }, { name: 'b', type: 'bigint' }, { name: 's', type: 'text' }], rows: data, truncated: false,
    ...(opts.stored === false ? {} : { resultId: `r${++seq}`, storedRows: rows }) };
  return { text: `${rows} rows`, parts: [part], auditId: `a${seq}-${Math.random()}`, outcome: 'ok', durationMs: 1 };
}
const table = (r: CallResult) => r.parts[0] as TablePart;

test('a stored table bigger than the grid takes whole keeps only its first rows, exactly; a small one stays whole', () => {
  const list = new ResultStore(50);
  const big = result(WHOLE + 1);
  const want = table(big).rows.slice(0, FIRST);
  const held = list.add('execute_query', big);
  assert.equal(table(held.result).rows.length, FIRST);
  assert.deepStrictEqual(table(held.result).rows, want);
  assert.equal(table(held.result).storedRows, WHOLE + 1, 'the store holds every row; the grid pages them from there');
  const small = list.add('execute_query', result(WHOLE));
  assert.equal(table(small.result).rows.length, WHOLE);
  // a table with no stored copy is never cut (nothing could bring its rows back)
  const unstored = list.add('execute_query', result(WHOLE + 5, { stored: false }));
  assert.equal(table(unstored.result).rows.length, WHOLE + 5);
});

test('long values: a stored table keeps only as many first rows as fit its share, even under 1,000 rows', () => {
  const list = new ResultStore(50);
  const r = result(500, { width: 100_000 });
  const held = list.add('execute_query', r);
  const rows = table(held.result).rows;
  assert.ok(rows.length > 0 && rows.length < 500, `held ${rows.length} rows`);
  assert.deepStrictEqual(rows, table(r).rows.slice(0, rows.length), 'a prefix, exactly');
  assert.ok(rows.reduce((a, x) => a + rowBytes(x), 0) <= 8 * 1048576);
});

test('past the budget the oldest results let go of their stored rows; the newest keeps its own; the list never holds more than HELD_BYTES', () => {
  const list = new ResultStore(50);
  for (let k = 0; k < 40; k++) list.add('execute_query', result(WHOLE, { width: 200 }));
  assert.ok(list.heldBytes() <= HELD_BYTES, `${list.heldBytes()} bytes held`);
  const items = list.list();
  assert.equal(items.length, 40, 'entries whose rows the store holds stay listed (reopening them pages from the store)');
  assert.equal(table(items[0].result).rows.length, WHOLE, 'the newest result keeps its rows');
  const emptied = items.filter(i => table(i.result).rows.length === 0);
  assert.ok(emptied.length > 0, 'older results let go of their rows');
  for (const i of emptied) assert.equal(table(i.result).storedRows, WHOLE, 'and still say how many rows the store has');
  // results whose rows exist nowhere else are dropped whole, oldest first
  const list2 = new ResultStore(50);
  for (let k = 0; k < 40; k++) list2.add('execute_query', result(WHOLE, { width: 200, stored: false }));
  assert.ok(list2.heldBytes() <= HELD_BYTES);
  assert.ok(list2.list().length < 40);
});

test('memory: adding fifty 100,000-row results leaves the heap bounded by the budget, not by the rows run', () => {
  const list = new ResultStore(50);
  gc();
  const base = process.memoryUsage().heapUsed;
  let one = 0;
  for (let k = 0; k < 50; k++) {
    const r = result(100_000);
    if (!one) one = table(r).rows.reduce((a, x) => a + rowBytes(x), 0);
    list.add('execute_query', r);
  }
  gc();
  const grown = process.memoryUsage().heapUsed - base;
  // the rows run were about 50 x `one` bytes; the list may hold at most HELD_BYTES (plus the entries themselves)
  assert.ok(50 * one > 4 * HELD_BYTES, `the rows run (${Math.round(50 * one / 1048576)} MB) are far over the budget`);
  assert.ok(grown < HELD_BYTES + 32 * 1048576, `heap grew ${Math.round(grown / 1048576)} MB`);
});
