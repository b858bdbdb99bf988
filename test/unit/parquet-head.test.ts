// A head of a file with ONE big row group reads only the pages it needs, and its values equal DuckDB's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ToolHost } from '../../src/core/host';
import { resolveConfig } from '../../src/core/config';
import type { TablePart } from '../../src/core/result';
import { tmpDir } from '../helpers/mcp';

const show = (v: unknown) => JSON.stringify(v, (_k, x) => typeof x === 'bigint' ? `${x}n` : x);

test('a 1,000-row head of a single-row-group file reads a bounded number of bytes and equals DuckDB', { timeout: 300_000 }, async () => {
  const dir = tmpDir('pqhead');
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const host = new ToolHost(resolveConfig({ allowedPaths: [dir], auditLogPath: path.join(dir, 'audit.jsonl'), limits: { maxFileBytes: 1 << 30 } }));
  try {
    // 1. ~50 MB, one row group, 1 MB pages (hyparquet-writer): the head must cost a few pages, not the row group
    const paged = path.join(dir, 'paged.parquet');
    const n = 1_200_000;
    const { parquetWriteFile } = await import('hyparquet-writer') as unknown as { parquetWriteFile: (o: unknown) => Promise<void> | void };
    const ids = new Float64Array(n).map((_x, i) => i);
    const text = Array.from({ length: n }, (_x, i) => (i % 7 === 3 ? null : `row ${i} ${'x'.repeat(i % 23)}`));
    await parquetWriteFile({ filename: paged, rowGroupSize: n, pageSize: 1 << 20, columnData: [
      { name: 'id', data: ids, type: 'DOUBLE' },
      { name: 'big', data: Array.from({ length: n }, (_x, i) => BigInt(i) * 1_000_000_007n), type: 'INT64' },
      { name: 'text', data: text, type: 'STRING' },
    ] });
    const size = fs.statSync(paged).size;
    assert.ok(size > 15e6, `test file is ${size} bytes`);
    const meta = await con.runAndReadAll(`SELECT count(DISTINCT row_group_id) FROM parquet_metadata('${paged}')`);
    assert.equal(Number(meta.getRows()[0][0]), 1, 'the file must have one row group');
    const r = await host.call('read_parquet', { file_path: paged, n_rows: 1000 }, { caller: 'test' });
    assert.ok(!r.isError, r.text);
    const part = r.parts[0] as TablePart;
    assert.equal(part.rows.length, 1000);
    assert.equal(part.totalRows, n);
    const bytes = r.metrics?.bytes ?? Infinity;
    assert.ok(bytes < 8e6, `read ${bytes} bytes of a ${size}-byte file for 1,000 rows (expected a few 1 MB pages per column)`);
    const ref = (await con.runAndReadAll(`SELECT id, big, text FROM read_parquet('${paged}') LIMIT 1000`)).getRows();
    for (let i = 0; i < 1000; i++) assert.equal(show(part.rows[i]), show(ref[i]), `row ${i}`);

    // 2. DuckDB's own writer puts up to ~100 MB in one page: the head decodes only the rows it needs from it, with
    //    nulls, decimals, dictionary pages and dates, and the values still equal DuckDB's
    const huge = path.join(dir, 'huge-pages.parquet');
    await con.run(`COPY (SELECT i AS id, CASE WHEN i % 5 = 2 THEN NULL ELSE i * 0.25 END::DECIMAL(18,2) AS amount,
      CASE WHEN i % 3 = 1 THEN NULL ELSE md5(i::varchar) END AS h, DATE '2020-01-01' + (i % 400)::int AS day
      FROM range(2000000) t(i)) TO '${huge}' (FORMAT parquet, ROW_GROUP_SIZE 100000000)`);
    for (const k of [1, 999, 1000, 4097, 10_000]) {
      const h = await host.call('read_parquet', { file_path: huge, n_rows: k }, { caller: 'test' });
      assert.ok(!h.isError, h.text);
      const p = h.parts[0] as TablePart;
      const want = (await con.runAndReadAll(`SELECT id, amount::VARCHAR, h, day::VARCHAR FROM read_parquet('${huge}') LIMIT ${k}`)).getRows();
      assert.equal(p.rows.length, k);
      assert.deepEqual(p.columns.map(c => c.type), ['int64', 'decimal(18,2)', 'string', 'date']);
      for (let i = 0; i < k; i++) assert.equal(show(p.rows[i]), show(want[i]), `n_rows ${k}, row ${i}`);
      assert.ok((h.metrics?.bytes ?? Infinity) <= fs.statSync(huge).size);
    }
  } finally {
    await host.dispose();
    con.closeSync?.();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
