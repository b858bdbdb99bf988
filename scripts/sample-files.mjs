// Deterministic sample data files for `npm start` and the tests: a CSV and (when the Parquet writer is
// installed) a Parquet file of the same rows.
import fs from 'node:fs';
import path from 'node:path';

export function sampleRows(n = 2000) {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const countries = ['DE', 'FR', 'US', 'JP', 'BR', 'IN', 'NG', 'GB'];
  const plans = ['free', 'pro', 'team'];
  const rows = [];
  for (let i = 1; i <= n; i++) {
    const day = new Date(Date.UTC(2025, 0, 1) + Math.floor(rnd() * 365) * 86400000).toISOString().slice(0, 10);
    rows.push({ order_id: i, user_id: 1 + Math.floor(rnd() * 500), country: countries[Math.floor(rnd() * countries.length)],
      plan: plans[Math.floor(rnd() * plans.length)], amount: Math.round(rnd() * 50000) / 100, order_date: day });
  }
  return rows;
}

export async function writeSampleFiles(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const rows = sampleRows();
  const cols = Object.keys(rows[0]);
  fs.writeFileSync(path.join(dir, 'orders.csv'), [cols.join(','), ...rows.map(r => cols.map(c => r[c]).join(','))].join('\n') + '\n');
  try {
    const { parquetWriteFile } = await import('hyparquet-writer');
    parquetWriteFile({
      filename: path.join(dir, 'orders.parquet'),
      columnData: cols.map(c => ({ name: c, data: rows.map(r => r[c]), type: typeof rows[0][c] === 'number' ? (Number.isInteger(rows[0][c]) && c !== 'amount' ? 'INT32' : 'DOUBLE') : 'STRING' })),
      rowGroupSize: 500,
    });
  } catch { /* the Parquet writer lands with the file storage tools */ }
  return dir;
}
