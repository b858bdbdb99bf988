import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { once } from 'node:events';
import { connectMcp, peakMb, tmpDir } from '../helpers/mcp';

// Issue 24, bounded memory on any line length: a CSV, TSV or JSON Lines line of any size within the file limit
// (DATATOOLS_MAX_FILE_BYTES, 100 MB) is read within PEAK_MB of server memory, and the reply says what was cut or
// refused. Each case gets a fresh server, so its peak (VmHWM) is that one read's.
const PEAK_MB = 700;
const MB = 1024 * 1024;

type Reply = { content: { type: string; text?: string }[]; structuredContent?: unknown; isError?: boolean };
type Table = { columns: { name: string; type: string }[]; rows: unknown[][]; truncated: boolean };
const textOf = (r: Reply) => r.content.filter(c => c.type === 'text').map(c => c.text ?? '').join('\n');

const dir = tmpDir('lines');

/** Writes a file from pieces, streamed (the test process never holds the whole file). */
async function writeFile(name: string, pieces: Iterable<string>): Promise<string> {
  const file = path.join(dir, name);
  const out = fs.createWriteStream(file);
  let buf = '';
  for (const p of pieces) {
    buf += p;
    if (buf.length >= MB) { if (!out.write(buf)) await once(out, 'drain'); buf = ''; }
  }
  out.end(buf);
  await once(out, 'finish');
  return file;
}

/** `n` items joined by `sep`, as pieces. */
function* joined(n: number, item: (i: number) => string, sep = ','): Generator<string> {
  for (let i = 0; i < n; i++) yield i ? sep + item(i) : item(i);
}

/** One read on a fresh server: the reply, its text and the server's peak memory over the whole session. */
async function readOnce(tool: string, args: Record<string, unknown>, what: string): Promise<{ r: Reply; text: string; peak: number; table?: Table }> {
  const s = await connectMcp({ DATATOOLS_ROLE: 'data_scientist', DATATOOLS_ALLOWED_PATHS: dir, DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl') });
  try {
    assert.ok(s.pid, 'the server process id');
    const t0 = performance.now();
    const r = await s.client.callTool({ name: tool, arguments: args }, undefined, { timeout: 150_000 }) as Reply;
    const ms = Math.round(performance.now() - t0);
    const peak = peakMb(s.pid);
    const text = textOf(r);
    const bytes = Buffer.byteLength(JSON.stringify(r));
    console.log(`  ${what}: ${r.isError ? 'tool error' : 'reply'} in ${ms} ms, ${text.length} chars, ${bytes} bytes; server peak ${peak.toFixed(0)} MB`);
    console.log(`    ${text.split('\n').filter(l => !/^(\S+ \| |columns: )/.test(l)).map(l => l.slice(0, 300)).join('\n    ')}`.slice(0, 1500));
    // a clear, bounded reply: no JavaScript error or stack trace, within the reply budgets
    assert.doesNotMatch(text, /\b(TypeError|RangeError|ReferenceError|SyntaxError)\b|Maximum call stack|\n\s+at \S+ \(|heap out of memory/, `${what}: no JavaScript error text`);
    assert.ok(bytes < 2 * MB, `${what}: the reply is ${bytes} bytes`);
    assert.ok(peak <= PEAK_MB, `${what}: the server's peak memory is ${peak.toFixed(0)} MB, over ${PEAK_MB} MB`);
    // the session is alive after it
    const ping = await s.client.callTool({ name: 'get_environment', arguments: {} }) as Reply;
    assert.notEqual(ping.isError, true, `${what}: the session must survive`);
    return { r, text, peak, table: (r.structuredContent as { tables?: Table[] } | undefined)?.tables?.[0] };
  } finally {
    await s.close();
  }
}

const N = 870_000;

test('a one-line 5 MB CSV of 870,000 fields (a header line): the first columns are read, the rest is said', async () => {
  const file = await writeFile('line.csv', [...joined(N, i => `cc${i % 1000}x`), '\n']);
  assert.ok(fs.statSync(file).size >= 5_000_000);
  const o = await readOnce('read_csv', { file_path: file }, '5 MB line of 870,000 fields');
  assert.notEqual(o.r.isError, true, o.text.slice(0, 500));
  assert.match(o.text, /line\.csv \([\d.]+ MB\): 0 rows, .*header row \(detected; pass header=false if wrong\)/);
  assert.match(o.text, /Only the first 20,000 of the 870,000 columns are read; the other 850,000 are not in the result/);
  assert.equal(o.table!.columns.length, 1000);
  assert.equal(o.table!.truncated, true);
  assert.match(o.text, /Result r[0-9a-z]+: 0 rows × 20,000 columns stored/);
  // as data, the first 20,000 values exactly
  const d = await readOnce('read_csv', { file_path: file, header: false }, '5 MB line as data');
  assert.notEqual(d.r.isError, true, d.text.slice(0, 500));
  assert.match(d.text, /line\.csv \([\d.]+ MB\): 1 row, /);
  assert.match(d.text, /Only the first 20,000 of the 870,000 columns are read/);
  assert.deepEqual(d.table!.rows, [Array.from({ length: 1000 }, (_, i) => `cc${i}x`)]);
  // a column past the first 20,000 is read when asked for by position
  const c = await readOnce('read_csv', { file_path: file, header: false, columns: ['column_1', 'column_869999'] }, '5 MB line, two columns by position');
  assert.notEqual(c.r.isError, true, c.text.slice(0, 500));
  assert.deepEqual(c.table!.columns.map(x => x.name), ['column_1', 'column_869999']);
  assert.deepEqual(c.table!.rows, [['cc0x', `cc${869_998 % 1000}x`]]);
});

test('a header line of 870,000 names and one 5 MB data row; a short header over a 5 MB row', async () => {
  const file = await writeFile('wide.csv', [...joined(N, i => `h${i}`), '\n', ...joined(N, i => String(i % 97)), '\n']);
  const o = await readOnce('read_csv', { file_path: file }, 'header of 870,000 names + one 5 MB row');
  assert.notEqual(o.r.isError, true, o.text.slice(0, 500));
  assert.match(o.text, /wide\.csv \([\d.]+ MB\): 1 row, .*header row/);
  assert.match(o.text, /Only the first 20,000 of the 870,000 columns are read; the other 850,000 are not in the result/);
  assert.deepEqual(o.table!.columns.slice(0, 3).map(c => [c.name, c.type]), [['h0', 'int32'], ['h1', 'int32'], ['h2', 'int32']]);
  assert.deepEqual(o.table!.rows[0].slice(0, 3), [0, 1, 2]);
  // a named column past the first 20,000
  const c = await readOnce('read_csv', { file_path: file, columns: ['h5', 'h869999'] }, 'header of 870,000 names, two columns by name');
  assert.notEqual(c.r.isError, true, c.text.slice(0, 500));
  assert.deepEqual(c.table!.rows, [[5, 869_999 % 97]]);

  const ragged = await writeFile('ragged.csv', ['id,name\n', ...joined(N, i => `v${i}`), '\n']);
  const g = await readOnce('read_csv', { file_path: ragged }, 'short header + one 5 MB row');
  assert.notEqual(g.r.isError, true, g.text.slice(0, 500));
  assert.match(g.text, /1 row has more fields than the header \(line 2\)/);
  assert.match(g.text, /Only the first 20,000 of the 870,000 columns are read/);
});

test('a 50 MB one-line JSON Lines file: one giant object, one giant array, one giant string', async () => {
  // about 3.3 million keys
  const obj = await writeFile('object.jsonl', ['{', ...joined(3_300_000, i => `"k${i}":${i % 1000}`), '}\n']);
  assert.ok(fs.statSync(obj).size >= 45 * MB, `${fs.statSync(obj).size} bytes`);
  const o = await readOnce('read_csv', { file_path: obj }, '50 MB JSON object');
  assert.notEqual(o.r.isError, true, o.text.slice(0, 500));
  assert.match(o.text, /object\.jsonl \([\d.]+ MB, JSON Lines, encoding UTF-8\): 1 row\./);
  assert.match(o.text, /Only the first 20,000 keys are read as columns; 3,280,000 more keys on line 1 are not in the result/);
  assert.deepEqual(o.table!.rows[0].slice(0, 3), [0, 1, 2]);
  const c = await readOnce('read_csv', { file_path: obj, columns: ['k3299999'] }, '50 MB JSON object, a key past the first 20,000');
  assert.notEqual(c.r.isError, true, c.text.slice(0, 500));
  assert.deepEqual(c.table!.rows, [[999]]);
  const f = await readOnce('read_file', { file_path: obj }, 'read_file of the 50 MB JSON object');
  assert.notEqual(f.r.isError, true, f.text.slice(0, 500));
  assert.match(f.text, /object\.jsonl: 1 line, [\d.]+ MB\. Lines 1-1 \(to the end\); cut at 20,000 characters\./);

  const arr = await writeFile('array.jsonl', ['[', ...joined(7_000_000, i => String(i % 1_000_000)), ']\n']);
  assert.ok(fs.statSync(arr).size >= 45 * MB, `${fs.statSync(arr).size} bytes`);
  const a = await readOnce('read_csv', { file_path: arr }, '50 MB JSON array');
  assert.notEqual(a.r.isError, true, a.text.slice(0, 500));
  assert.match(a.text, /array\.jsonl \([\d.]+ MB, JSON Lines, encoding UTF-8\): 1 row\./);
  assert.deepEqual(a.table!.columns.map(x => [x.name, x.type]), [['value', 'json']]);
  assert.match(String(a.table!.rows[0][0]), /^\[0,1,2,3,.*… \[cut: [\d,]+ chars in all\]$/);

  const str = await writeFile('string.jsonl', ['"', ...Array.from({ length: 50 }, (_, i) => `${String.fromCharCode(97 + (i % 26))}\\n`.repeat(MB / 3)), '"\n']);
  const s = await readOnce('read_csv', { file_path: str }, '50 MB JSON string');
  assert.notEqual(s.r.isError, true, s.text.slice(0, 500));
  assert.deepEqual(s.table!.columns.map(x => [x.name, x.type]), [['value', 'string']]);
  assert.match(String(s.table!.rows[0][0]), /^a\na\na\n.*… \[cut: [\d,]+ chars in all\]$/s);

  // over the 64 MB row limit (a 70 MB line): stopped with its size, never parsed
  const big = await writeFile('big.jsonl', ['{"id":1}\n{', ...joined(4_800_000, i => `"k${i}":${i % 1000}`), '}\n{"id":3}\n']);
  const b = await readOnce('read_csv', { file_path: big }, '70 MB JSON line, over the row limit');
  assert.notEqual(b.r.isError, true, b.text.slice(0, 500));
  assert.match(b.text, /TRUNCATED: stopped at row 2 \(line 2\), which is [\d.]+ MB, over the 64 MB limit on one row \(DATATOOLS_MAX_ROW_MB\); the rows before it are exact/);
  assert.deepEqual(b.table!.rows, [[1]]);
});

test('a 100 MB CSV of 10 lines of 10 MB each', async () => {
  const fields = 1_100_000; // about 9 bytes each
  const lines: Iterable<string>[] = [joined(fields, i => `col${i}`)];
  for (let r = 1; r < 10; r++) lines.push(joined(fields, i => String((i * 7 + r) % 100000).padStart(8, '0')));
  const file = await writeFile('ten.csv', (function* () { for (const l of lines) { yield* l; yield '\n'; } })());
  const size = fs.statSync(file).size;
  assert.ok(size > 95 * 1e6 && size < 100 * MB, `${size} bytes`);
  const o = await readOnce('read_csv', { file_path: file }, '100 MB CSV of 10 lines');
  assert.notEqual(o.r.isError, true, o.text.slice(0, 500));
  assert.match(o.text, /ten\.csv \([\d.]+ MB\): 9 rows, .*header row/);
  assert.match(o.text, /Only the first 20,000 of the 1,100,000 columns are read; the other 1,080,000 are not in the result/);
  assert.equal(o.table!.rows.length, 9);
  assert.equal(o.table!.rows[0][0], '00000001', 'leading zeros kept: the column is text');
  const f = await readOnce('read_file', { file_path: file, offset: 3, length: 2 }, 'read_file of the 100 MB CSV');
  assert.notEqual(f.r.isError, true, f.text.slice(0, 500));
  assert.match(f.text, /ten\.csv: 10 lines, [\d.]+ MB\. Lines 4-4 \(more: continue with offset 4\); cut at 20,000 characters\./);
});

test('a CSV value over 16 MiB: refused clearly, not taken for a quote never closed', async () => {
  const file = await writeFile('value.csv', ['id,v\n1,', 'v'.repeat(30 * MB), '\n2,x\n']);
  const o = await readOnce('read_csv', { file_path: file }, 'a 30 MB value');
  assert.equal(o.r.isError, true);
  assert.match(o.text, /value\.csv as CSV: the record starting on line 2 is longer than 16 MiB in the columns read \(its values are too long to read here\); no rows were returned/);
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
