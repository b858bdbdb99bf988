import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CORPORA, REPO_CORPORA } from '../helpers/corpora';
import { ROOT } from '../helpers/mcp';

// A plain clone must run every test: the corpora are in the repository, each with its origin and licence, and no
// test reads anything beside the clone.

const FOLDERS: Record<string, string[]> = {
  'csv-spectrum': ['csvs/simple.csv', 'json/simple.json'],
  'parquet-testing': ['data/alltypes_plain.parquet', 'bad_data'],
  'pg-regress': ['read-only-ok.jsonl'],
  tpch: ['schema.sql', 'queries/q22.sql', 'data/lineitem.tbl'],
  tpcds: ['queries/99.sql', 'schema/store_sales.sql'],
  'arrow-testing': ['data/arrow-ipc-stream/integration/1.0.0-bigendian', 'data/arrow-ipc-stream/integration/cpp-21.0.0'],
};

test('the corpora are in the repository, each with its origin and a licence', () => {
  if (!process.env.DATATOOLS_CORPORA) assert.equal(CORPORA, REPO_CORPORA);
  assert.ok(REPO_CORPORA.startsWith(ROOT + path.sep));
  for (const [dir, must] of Object.entries(FOLDERS)) {
    const d = path.join(REPO_CORPORA, dir);
    assert.ok(fs.existsSync(path.join(d, 'ORIGIN.md')), `${dir}/ORIGIN.md`);
    const licence = fs.readdirSync(d).filter(f => /^(LICENSE|LICENCE|COPYRIGHT)/i.test(f));
    assert.ok(licence.length > 0, `${dir} has a licence file`);
    for (const m of must) assert.ok(fs.existsSync(path.join(d, m)), `${dir}/${m}`);
  }
});

test('no test or script reads a folder beside the clone', () => {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) { if (e.name !== 'corpora' && e.name !== 'node_modules') walk(p); continue; }
      if (!/\.(ts|mjs|js|sh)$/.test(e.name)) continue;
      const text = fs.readFileSync(p, 'utf8');
      if (/['"`]\.\.['"`],\s*['"`]shared['"`]|\.\.\/shared\//.test(text) && !p.endsWith('corpora.test.ts')) hits.push(path.relative(ROOT, p));
    }
  };
  for (const d of ['test', 'scripts', '.ci']) walk(path.join(ROOT, d));
  assert.deepEqual(hits, []);
});
