import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ToolHost } from '../../src/core/host';
import { defaultWorkDir, resolveConfig } from '../../src/core/config';
import { tmpDir } from '../helpers/mcp';

describe('file tools on a real filesystem', () => {
  const base = tmpDir('files');
  const root = path.join(base, 'data');
  const sibling = path.join(base, 'data-evil');
  const outside = path.join(base, 'outside');
  for (const d of [root, sibling, outside]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(sibling, 'secret.txt'), 'sibling secret');
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'outside secret');
  fs.writeFileSync(path.join(root, 'notes.txt'), Array.from({ length: 50 }, (_, i) => `line ${i + 1}`).join('\n') + '\n');
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'link-to-file'));
  fs.symlinkSync(outside, path.join(root, 'link-to-dir'));
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
  const cfg = (role: 'data_scientist' | 'data_engineer', maxFileBytes = 1024 * 1024) =>
    resolveConfig({ role, allowedPaths: [root], auditLogPath: path.join(base, `${role}.jsonl`), limits: { maxFileBytes } });
  const ds = new ToolHost(cfg('data_scientist'));
  const de = new ToolHost(cfg('data_engineer'));
  const call = (h: ToolHost, name: string, input: unknown) => h.call(name, input, { caller: 'test' });

  test('read_file pages through lines of a text file inside the root', async () => {
    const r = await call(ds, 'read_file', { file_path: 'notes.txt', offset: 10, length: 5 });
    assert.equal(r.isError, undefined, r.text);
    assert.match(r.text, /50 lines, .* Lines 11-15 \(more: continue with offset 15\)/);
    assert.match(r.text, /\nline 11\nline 12\nline 13\nline 14\nline 15$/);
  });

  const escapes: [string, string, RegExp][] = [
    ['.. escape', '../outside/secret.txt', /outside the allowed roots/],
    ['absolute path outside', path.join(outside, 'secret.txt'), /outside the allowed roots/],
    ['sibling folder sharing the prefix', path.join(sibling, 'secret.txt'), /outside the allowed roots/],
    ['symlink to a file outside', 'link-to-file', /outside the allowed roots/],
    ['symlink to a folder outside', 'link-to-dir/secret.txt', /outside the allowed roots/],
    ['NUL byte', 'notes.txt\0.png', /NUL byte/],
    ['file:// URL', `file://${path.join(root, 'notes.txt')}`, /is a URL/],
    ['FIFO (must not hang)', 'fifo', /is a FIFO/],
    ['/etc/passwd', '/etc/passwd', /outside the allowed roots/],
  ];
  for (const [label, p, expected] of escapes) {
    test(`read_file refuses: ${label}`, async () => {
      for (const tool of ['read_file', 'read_csv', 'read_parquet']) {
        const r = await call(ds, tool, { file_path: p });
        assert.equal(r.isError, true, `${tool} ${label}`);
        assert.match(r.text, expected, `${tool}: ${r.text}`);
        assert.doesNotMatch(r.text, /(outside|sibling) secret/);
      }
    });
  }

  test('a file over the size limit is refused before it is read', async () => {
    const small = new ToolHost(cfg('data_scientist', 100));
    fs.writeFileSync(path.join(root, 'big.txt'), 'x'.repeat(1000));
    const r = await call(small, 'read_file', { file_path: 'big.txt' });
    assert.equal(r.isError, true);
    assert.match(r.text, /1000 B, over the 100 B limit/);
  });

  test('write_file: data scientists may not; engineers write atomically, with parents inside the root', async () => {
    const refused = await call(ds, 'write_file', { file_path: 'out.txt', content: 'x' });
    assert.equal(refused.outcome, 'refused');
    const w = await call(de, 'write_file', { file_path: 'reports/2025/out.txt', content: 'hello' });
    assert.equal(w.isError, undefined, w.text);
    assert.equal(fs.readFileSync(path.join(root, 'reports/2025/out.txt'), 'utf8'), 'hello');
    const b = await call(de, 'write_file', { file_path: 'bytes.bin', content: Buffer.from([0, 1, 2, 255]).toString('base64'), encoding: 'base64' });
    assert.equal(b.isError, undefined, b.text);
    assert.deepEqual([...fs.readFileSync(path.join(root, 'bytes.bin'))], [0, 1, 2, 255]);
    assert.deepEqual(fs.readdirSync(root).filter(f => f.endsWith('.tmp')), [], 'no temporary files left');
  });

  test('write_file refuses escapes and leaves nothing outside', async () => {
    fs.symlinkSync(path.join(outside, 'victim.txt'), path.join(root, 'swapped-link'));
    const cases: [string, RegExp][] = [
      ['../outside/new.txt', /outside the allowed roots/],
      [path.join(sibling, 'new.txt'), /outside the allowed roots/],
      ['link-to-dir/new.txt', /outside the allowed roots/],
      ['swapped-link', /is a symbolic link/],
      ['link-to-file', /is a symbolic link/],
      ['fifo', /is a FIFO/],
      ['a\0b', /NUL byte/],
    ];
    for (const [p, expected] of cases) {
      const r = await call(de, 'write_file', { file_path: p, content: 'pwned' });
      assert.equal(r.isError, true, p);
      assert.match(r.text, expected, `${p}: ${r.text}`);
    }
    assert.deepEqual(fs.readdirSync(outside).sort(), ['secret.txt']);
    assert.equal(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8'), 'outside secret');
    assert.deepEqual(fs.readdirSync(sibling), ['secret.txt']);
  });

  test('a failed write leaves the old file whole', async () => {
    const tiny = new ToolHost(resolveConfig({ role: 'data_engineer', allowedPaths: [root], auditLogPath: path.join(base, 't.jsonl'), limits: { maxFileBytes: 10 } }));
    fs.writeFileSync(path.join(root, 'keep.txt'), 'original');
    const r = await call(tiny, 'write_file', { file_path: 'keep.txt', content: 'this is far too long' });
    assert.equal(r.isError, true);
    assert.equal(fs.readFileSync(path.join(root, 'keep.txt'), 'utf8'), 'original');
  });

  test('write_file with append: pieces make the file exactly; past the size limit nothing is appended; a new file a refused append made is removed', async () => {
    const tiny = new ToolHost(resolveConfig({ role: 'data_engineer', allowedPaths: [root], auditLogPath: path.join(base, 'ap.jsonl'), limits: { maxFileBytes: 64 } }));
    const bytes = Buffer.from([0, 255, 10, 13, 0xe2, 0x82, 0xac, 1]);
    assert.equal((await call(tiny, 'write_file', { file_path: 'pieces/a.bin', content: bytes.subarray(0, 3).toString('base64'), encoding: 'base64' })).isError, undefined);
    const r2 = await call(tiny, 'write_file', { file_path: 'pieces/a.bin', content: bytes.subarray(3).toString('base64'), encoding: 'base64', append: true });
    assert.equal(r2.isError, undefined, r2.text);
    assert.match(r2.text, /^Appended 5 B to .*a\.bin \(now 8 B\)\.$/);
    assert.deepEqual(fs.readFileSync(path.join(root, 'pieces', 'a.bin')), bytes);
    // text pieces (a multi-byte character split across no boundary), the first creating the file
    for (const piece of ['héllo ', 'wörld ', '€\n']) assert.equal((await call(tiny, 'write_file', { file_path: 'pieces/t.txt', content: piece, append: true })).isError, undefined);
    assert.equal(fs.readFileSync(path.join(root, 'pieces', 't.txt'), 'utf8'), 'héllo wörld €\n');
    // the whole file counts against the limit: a piece that would pass it appends nothing
    const over = await call(tiny, 'write_file', { file_path: 'pieces/t.txt', content: 'x'.repeat(60), append: true });
    assert.equal(over.isError, true);
    assert.match(over.text, /would make .* over the 64 B limit; nothing was appended/);
    assert.equal(fs.readFileSync(path.join(root, 'pieces', 't.txt'), 'utf8'), 'héllo wörld €\n');
    const fresh = await call(tiny, 'write_file', { file_path: 'pieces/new.txt', content: 'y'.repeat(65), append: true });
    assert.equal(fresh.isError, true);
    assert.equal(fs.existsSync(path.join(root, 'pieces', 'new.txt')), false, 'no empty file left behind');
    // the same walls as a write: outside the root, through a symlink, and for a role that may not write
    assert.equal((await call(de, 'write_file', { file_path: path.join(outside, 'secret.txt'), content: 'x', append: true })).isError, true);
    assert.equal((await call(de, 'write_file', { file_path: 'link-to-file', content: 'x', append: true })).isError, true);
    assert.equal(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8'), 'outside secret');
    assert.equal((await call(ds, 'write_file', { file_path: 'pieces/t.txt', content: 'x', append: true })).outcome, 'refused');
  });

  test('read_csv infers delimiter, header and types, and reads only the first rows', async () => {
    const rows = ['id;name;score;day', ...Array.from({ length: 20000 }, (_, i) => `${i + 1};"n;${i}";${(i * 0.5).toFixed(1)};2025-01-${String(1 + (i % 28)).padStart(2, '0')}`)];
    fs.writeFileSync(path.join(root, 'scores.csv'), rows.join('\n'));
    const r = await call(ds, 'read_csv', { file_path: 'scores.csv', n_rows: 3 });
    assert.equal(r.isError, undefined, r.text);
    assert.match(r.text, /more than 3 rows \(first 3 read; pass n_rows for more\), encoding UTF-8 \(only ASCII in the part read\), delimiter ";", header row/);
    // 0.0, 0.5, 1.0 would print back as 0, 0.5, 1 from float64: exact decimals instead
    assert.match(r.text, /columns: id int32, name string, score decimal\(2,1\), day date/);
    assert.match(r.text, /\n1 \| n;0 \| 0\.0 \| 2025-01-01/);
    assert.ok((r.metrics?.bytes ?? Infinity) <= 256 * 1024, `read ${r.metrics?.bytes} bytes of a ${fs.statSync(path.join(root, 'scores.csv')).size}-byte file`);
    const cols = await call(ds, 'read_csv', { file_path: 'scores.csv', n_rows: 2, columns: ['score'] });
    assert.match(cols.text, /columns: score decimal\(2,1\)/);
    const bad = await call(ds, 'read_csv', { file_path: 'scores.csv', columns: ['nope'] });
    assert.match(bad.text, /unknown column nope; the file has id, name, score, day/);
  });

  test('read_parquet reads the footer and only the row groups it needs', async () => {
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const n = 200_000;
    const buf = parquetWriteBuffer({ columnData: [
      { name: 'id', type: 'INT32', data: Array.from({ length: n }, (_, i) => i) },
      { name: 'label', type: 'STRING', data: Array.from({ length: n }, (_, i) => `row-${i}`) },
    ], rowGroupSize: 20_000 });
    fs.writeFileSync(path.join(root, 'big.parquet'), new Uint8Array(buf));
    const r = await call(ds, 'read_parquet', { file_path: 'big.parquet', n_rows: 5 });
    assert.equal(r.isError, undefined, r.text);
    assert.match(r.text, /10 row groups\): 200,000 rows; first 5 read/);
    assert.match(r.text, /columns: id int32, label string/);
    assert.match(r.text, /\n0 \| row-0\n1 \| row-1/);
    assert.ok((r.metrics?.bytes ?? Infinity) < buf.byteLength / 4, `read ${r.metrics?.bytes} of ${buf.byteLength} bytes`);
    fs.writeFileSync(path.join(root, 'small.parquet'), new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'a', type: 'INT32', data: [1, 2] }] })));
    const rf = await call(ds, 'read_file', { file_path: 'small.parquet' });
    assert.match(rf.text, /binary file .* Use read_parquet/);
    // the sandbox has no Parquet reader: the rows read are handed over as CSV
    const saved = await call(ds, 'read_parquet', { file_path: 'big.parquet', n_rows: 3, save_as: 'head.csv' });
    const csvPath = path.join(defaultWorkDir([root]), 'results', 'head.csv');
    assert.match(saved.text, new RegExp(`Saved the 3 rows read to ${csvPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    assert.equal(fs.readFileSync(csvPath, 'utf8'), 'id,label\r\n0,row-0\r\n1,row-1\r\n2,row-2\r\n');
  });

  test('list_files lists with sizes, filters by pattern, stays inside roots', async () => {
    const r = await call(ds, 'list_files', { pattern: '*.csv' });
    assert.equal(r.isError, undefined, r.text);
    assert.match(r.text, /scores\.csv/);
    assert.doesNotMatch(r.text, /notes\.txt/);
    const all = await call(ds, 'list_files', { recursive: true });
    assert.match(all.text, /reports\/2025\/out\.txt/);
    assert.doesNotMatch(all.text, /outside\/secret/);
    const out = await call(ds, 'list_files', { path: outside });
    assert.match(out.text, /outside the allowed roots/);
  });
});
