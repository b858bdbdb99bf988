import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ToolHost } from '../../src/core/host';
import { resolveConfig } from '../../src/core/config';
import { tmpDir } from '../helpers/mcp';
import { startS3, type S3Server } from '../helpers/s3';
import { S3Store } from '../../src/core/storage/s3';
import { toParquetFile } from '../../src/core/formats/parquetWrite';

describe('file tools on a real S3-compatible server (s3rver on loopback)', () => {
  let s3: S3Server;
  let ds: ToolHost;
  let de: ToolHost;
  const base = tmpDir('s3');
  const call = (h: ToolHost, name: string, input: unknown) => h.call(name, input, { caller: 'test' });

  before(async () => {
    s3 = await startS3(['lake', 'other', 'restricted']);
    const cfg = (role: 'data_scientist' | 'data_engineer') => resolveConfig({
      role, allowedPaths: [path.join(base, 'local')], auditLogPath: path.join(base, `${role}.jsonl`),
      s3: { bucket: 'lake', region: 'us-east-1', endpoint: s3.endpoint, extraBuckets: ['restricted/team'] },
    });
    ds = new ToolHost(cfg('data_scientist'));
    de = new ToolHost(cfg('data_engineer'));
  });
  after(async () => { await ds?.dispose(); await de?.dispose(); await s3?.close(); });

  test('write_file with append to S3: the object grows by each piece exactly (created by the first)', async () => {
    const pieces = ['id,v\n', '1,a\n', '2,€\n'];
    for (const piece of pieces) {
      const r = await call(de, 'write_file', { file_path: 's3://lake/pieces/p.csv', content: piece, append: true });
      assert.equal(r.isError, undefined, r.text);
    }
    const back = await call(de, 'read_file', { file_path: 's3://lake/pieces/p.csv' });
    assert.equal(back.isError, undefined, back.text);
    assert.ok(back.text.includes(pieces.join('').trimEnd()), back.text);
    assert.equal((await call(ds, 'write_file', { file_path: 's3://lake/pieces/p.csv', content: 'x', append: true })).outcome, 'refused');
  });

  test('write_file puts an object; read_file and read_csv read it back', async () => {
    const csv = 'id,city,amount\n' + Array.from({ length: 500 }, (_, i) => `${i},c${i % 7},${(i * 1.5).toFixed(1)}`).join('\n') + '\n';
    const w = await call(de, 'write_file', { file_path: 's3://lake/sales/2026.csv', content: csv });
    assert.equal(w.isError, undefined, w.text);
    assert.match(w.text, /Wrote .* to s3:\/\/lake\/sales\/2026\.csv/);
    const r = await call(ds, 'read_file', { file_path: 's3://lake/sales/2026.csv', offset: 1, length: 2 });
    assert.equal(r.isError, undefined, r.text);
    assert.match(r.text, /501 lines.*Lines 2-3/);
    assert.match(r.text, /\n0,c0,0\.0\n1,c1,1\.5$/);
    const c = await call(ds, 'read_csv', { file_path: 's3://lake/sales/2026.csv', n_rows: 3 });
    assert.equal(c.isError, undefined, c.text);
    assert.match(c.text, /more than 3 rows/);
    // amounts written as 0.0, 1.5, 3.0 keep their one decimal: a float would print 0 and 3
    assert.match(c.text, /columns: id int32, city string, amount decimal\(2,1\)/);
    assert.match(c.text, /\n0 \| c0 \| 0\.0\n/);
  });

  test('read_csv and read_parquet on S3 hold at most DATATOOLS_MAX_RESULT_MB of rows: they stop at the row that does not fit and say so', async () => {
    const small = new ToolHost(resolveConfig({ role: 'data_scientist', allowedPaths: [path.join(base, 'local')], auditLogPath: path.join(base, 'small.jsonl'),
      s3: { bucket: 'lake', region: 'us-east-1', endpoint: s3.endpoint, extraBuckets: [] }, limits: { maxResultMb: 1, maxRowMb: 1 } }));
    try {
      const pad = (i: number) => `${'ü'.repeat(i % 5)}${'q'.repeat(4000)}`;
      const stopRow = (bytes: (i: number) => number, start = 0) => { let t = start; for (let i = 1; ; i++) { t += bytes(i); if (t > 1024 * 1024) return i; } };
      const csv = `id,pad\n${Array.from({ length: 600 }, (_, j) => `${j + 1},${pad(j + 1)}`).join('\n')}\n`;
      assert.equal((await call(de, 'write_file', { file_path: 's3://lake/budget/rows.csv', content: csv })).isError, undefined);
      const k = stopRow(i => 8 + String(i).length + Buffer.byteLength(pad(i)), 13);
      let r = await call(small, 'read_csv', { file_path: 's3://lake/budget/rows.csv', n_rows: 1000 });
      assert.match(r.text, new RegExp(`\\nTRUNCATED: stopped at row ${k} \\(line ${k + 1}\\), where the rows read reached the 1 MB budget on one result \\(DATATOOLS_MAX_RESULT_MB\\)`));
      let t = r.parts.find(p => p.kind === 'table') as { rows: unknown[][] };
      assert.equal(t.rows.length, k - 1);
      t.rows.forEach((row, i) => assert.deepEqual(row, [i + 1, pad(i + 1)]));
      const pq = await toParquetFile([{ name: 'id', type: 'int32' }, { name: 'pad', type: 'string' }], Array.from({ length: 600 }, (_, j) => [j + 1, pad(j + 1)]), 200);
      assert.equal((await call(de, 'write_file', { file_path: 's3://lake/budget/rows.parquet', content: Buffer.from(pq.bytes).toString('base64'), encoding: 'base64' })).isError, undefined);
      const kp = stopRow(i => 16 + Buffer.byteLength(pad(i)));
      r = await call(small, 'read_parquet', { file_path: 's3://lake/budget/rows.parquet', n_rows: 1000 });
      assert.match(r.text, new RegExp(`: 600 rows; first ${kp - 1} read .*\\nTRUNCATED: stopped at row ${kp}, where the rows read reached the 1 MB budget`));
      t = r.parts.find(p => p.kind === 'table') as typeof t;
      assert.equal(t.rows.length, kp - 1);
      t.rows.forEach((row, i) => assert.deepEqual(row, [i + 1, pad(i + 1)]));
    } finally { await small.dispose(); }
  });

  test('read_parquet on S3 fetches the footer and the first row group only, by explicit byte offsets', async () => {
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const n = 300_000;
    const buf = new Uint8Array(parquetWriteBuffer({ columnData: [
      { name: 'id', type: 'INT32', data: Array.from({ length: n }, (_, i) => i) },
      { name: 'label', type: 'STRING', data: Array.from({ length: n }, (_, i) => `label-${i}-${(i * 7919) % 1000}`) },
    ], rowGroupSize: 30_000 }));
    const w = await call(de, 'write_file', { file_path: 's3://lake/big.parquet', content: Buffer.from(buf).toString('base64'), encoding: 'base64' });
    assert.equal(w.isError, undefined, w.text);
    s3.requests.length = 0;
    const r = await call(ds, 'read_parquet', { file_path: 's3://lake/big.parquet', n_rows: 10 });
    assert.equal(r.isError, undefined, r.text);
    assert.match(r.text, /10 row groups\): 300,000 rows; first 10 read/);
    assert.match(r.text, /\n0 \| label-0-0\n1 \| label-1-919/);
    const gets = s3.requests.filter(q => q.method === 'GET');
    assert.ok(gets.length >= 2, JSON.stringify(s3.requests));
    for (const g of gets) assert.match(g.range ?? '', /^bytes=\d+-\d+$/, `every GET is an explicit range: ${JSON.stringify(g)}`);
    const fetched = gets.reduce((s, g) => s + g.bytes, 0);
    // the footer plus one row group of ten: well under a fifth of the object
    assert.ok(fetched < buf.byteLength / 5, `fetched ${fetched} of ${buf.byteLength} bytes: ${JSON.stringify(gets)}`);
    const { parquetMetadata } = await import('hyparquet');
    const meta = parquetMetadata(buf.buffer as ArrayBuffer);
    const rg0 = meta.row_groups[0].columns.map(c => [Number(c.meta_data!.dictionary_page_offset ?? c.meta_data!.data_page_offset), Number(c.meta_data!.total_compressed_size)]);
    const rg0End = Math.max(...rg0.map(([o, s]) => o + s));
    for (const g of gets) {
      const [s, e] = g.range!.slice(6).split('-').map(Number);
      const inRg0 = e < rg0End + 8; // hyparquet may pad a column chunk read by a few bytes
      const inFooter = s >= buf.byteLength - (64 * 1024) - 8;
      assert.ok(inRg0 || inFooter, `range ${g.range} is neither the footer nor row group 0 (ends at ${rg0End})`);
    }
  });

  test('Arrow IPC and JSON Lines read from S3', async () => {
    const A = await import('apache-arrow');
    const t = A.tableFromArrays({ x: Float64Array.from([1.5, 2.5, 3.5]), name: ['a', 'b', 'c'] });
    await call(de, 'write_file', { file_path: 's3://lake/t.arrow', content: Buffer.from(A.tableToIPC(t, 'file')).toString('base64'), encoding: 'base64' });
    const r = await call(ds, 'read_parquet', { file_path: 's3://lake/t.arrow' });
    assert.equal(r.isError, undefined, r.text);
    assert.match(r.text, /Arrow IPC file, 1 record batch\): 3 rows/);
    assert.match(r.text, /columns: x float64, name string/);
    assert.match(r.text, /\n1\.5 \| a\n2\.5 \| b\n3\.5 \| c/);
    await call(de, 'write_file', { file_path: 's3://lake/events.jsonl', content: '{"id":1,"ok":true}\n{"id":2,"ok":false,"tag":"x"}\n' });
    const j = await call(ds, 'read_csv', { file_path: 's3://lake/events.jsonl' });
    assert.equal(j.isError, undefined, j.text);
    assert.match(j.text, /JSON Lines, encoding UTF-8\): 2 rows/);
    assert.match(j.text, /columns: id int32, ok boolean, tag string/);
  });

  test('list_files lists a prefix with its folders, and recursively with a pattern', async () => {
    for (let i = 0; i < 25; i++) await call(de, 'write_file', { file_path: `s3://lake/many/f${String(i).padStart(2, '0')}.txt`, content: `${i}` });
    await call(de, 'write_file', { file_path: 's3://lake/many/sub/deep.txt', content: 'deep' });
    const top = await call(ds, 'list_files', { path: 's3://lake/many' });
    assert.equal(top.isError, undefined, top.text);
    assert.match(top.text, /^26 entries:/);
    assert.match(top.text, /s3:\/\/lake\/many\/sub\/\n/);
    assert.doesNotMatch(top.text, /deep\.txt/);
    const rec = await call(ds, 'list_files', { path: 's3://lake/many/', recursive: true, pattern: '*.txt' });
    assert.match(rec.text, /^26 entries:/);
    assert.match(rec.text, /deep\.txt/);
  });

  test('listing follows continuation tokens page by page, and stops at the entry cap', async () => {
    const store = await S3Store.create({ bucket: 'lake', region: 'us-east-1', endpoint: s3.endpoint, extraBuckets: [] });
    try {
      s3.requests.length = 0;
      const all = await store.list({ bucket: 'lake', key: 'many/' }, { delimited: false, max: 1000, pageSize: 7 });
      assert.equal(all.entries.length, 26);
      assert.equal(all.more, false);
      assert.equal(all.pages, 4);
      const lists = s3.requests.filter(q => q.method === 'GET' && q.url.includes('list-type=2'));
      assert.equal(lists.length, 4);
      assert.equal(lists.filter(q => q.url.includes('continuation-token=')).length, 3, 'pages 2-4 carry the continuation token');
      const capped = await store.list({ bucket: 'lake', key: 'many/' }, { delimited: false, max: 10, pageSize: 7 });
      assert.equal(capped.entries.length, 10);
      assert.equal(capped.more, true);
    } finally { store.dispose(); }
  });

  test('S3 keys outside the allowed buckets and prefixes are refused, nothing read or written', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['read_file', { file_path: 's3://other/secret.txt' }, /outside the allowed S3 locations \(s3:\/\/lake\/, s3:\/\/restricted\/team\/\)/],
      ['read_file', { file_path: 's3://restricted/teammate/x.csv' }, /outside the allowed S3 locations/],
      ['read_file', { file_path: 's3://lake/a/../../other/x' }, /"\.", "\.\." or empty segments/],
      ['read_csv', { file_path: 's3://lake//x.csv' }, /empty segments/],
      ['list_files', { path: 's3://other/' }, /outside the allowed S3 locations/],
      ['list_files', { path: 's3://restricted/' }, /Only part of s3:\/\/restricted\/ is allowed; list s3:\/\/restricted\/team\/ instead/],
      ['write_file', { file_path: 's3://other/planted.txt', content: 'x' }, /outside the allowed S3 locations/],
      ['read_file', { file_path: 's3://lake/missing.txt' }, /does not exist/],
    ];
    s3.requests.length = 0;
    for (const [tool, input, re] of cases) {
      const r = await call(tool === 'write_file' ? de : ds, tool, input);
      assert.equal(r.isError, true, `${tool} ${JSON.stringify(input)}: ${r.text}`);
      assert.match(r.text, re);
    }
    assert.ok(!s3.requests.some(q => q.url.includes('/other') || q.url.includes('teammate')), JSON.stringify(s3.requests));
    const w = await call(ds, 'write_file', { file_path: 's3://lake/x.txt', content: 'x' });
    assert.match(w.text, /not allowed for the role Data scientist/);
  });

  test('a data engineer saves a query result straight to S3 as Parquet, and reads it back', async () => {
    const q = await call(de, 'execute_query', { query: 'SELECT id, country FROM users ORDER BY id LIMIT 50', save_as: 's3://lake/results/users.parquet' });
    assert.equal(q.isError, undefined, q.text);
    assert.match(q.text, /Saved all 50 rows to s3:\/\/lake\/results\/users\.parquet/);
    const r = await call(ds, 'read_parquet', { file_path: 's3://lake/results/users.parquet', n_rows: 2 });
    assert.match(r.text, /50 rows; first 2 read/);
  });
});
