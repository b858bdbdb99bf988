// npm run bench: speed as ratios against a baseline measured in the same run (never timing assertions in tests).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);
if (spawnSync('npx', ['tsc', '-p', '.'], { stdio: 'inherit' }).status !== 0) process.exit(1);
const require = createRequire(import.meta.url);
const { ToolHost } = require(path.join(root, 'out/src/core/host.js'));
const { resolveConfig } = require(path.join(root, 'out/src/core/config.js'));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-bench-'));
const ms = async (n, fn) => { const t = performance.now(); for (let i = 0; i < n; i++) await fn(i); return (performance.now() - t) / n; };
const row = (name, value, base, unit = 'ms') => console.log(`${name.padEnd(58)} ${value.toFixed(3).padStart(10)} ${unit}  baseline ${base.toFixed(3).padStart(9)} ${unit}  ratio ${(value / base).toFixed(2)}x`);

// 1. catalog dispatch (role check, schema validation, audit line) against calling the handler directly
{
  const host = new ToolHost(resolveConfig({ allowedPaths: [dir], auditLogPath: path.join(dir, 'audit.jsonl') }));
  fs.writeFileSync(path.join(dir, 'x.txt'), 'a\nb\n');
  const tool = host.find('read_file');
  const ctx = { config: host.config, services: host.services, signal: new AbortController().signal, caller: 'test' };
  const direct = await ms(2000, () => tool.handler({ file_path: 'x.txt' }, ctx));
  const viaHost = await ms(2000, () => host.call('read_file', { file_path: 'x.txt' }, { caller: 'test' }));
  row('read_file through the host vs the bare handler', viaHost, direct);
  await host.dispose();
}

// 2. the Python sandbox: a warm session call and a cold start importing pandas, against `python3 -c` per call
{
  const host = new ToolHost(resolveConfig({ allowedPaths: [dir], auditLogPath: path.join(dir, 'audit.jsonl') }));
  const spawnPy = await ms(5, () => spawnSync('/usr/bin/python3', ['-c', 'print(1)']));
  const spawnPandas = await ms(3, () => spawnSync('/usr/bin/python3', ['-c', 'import pandas; print(1)']));
  await host.call('execute_code', { code: '1' }, { caller: 'test' });
  const warm = await ms(50, () => host.call('execute_code', { code: 'print(1)' }, { caller: 'test' }));
  row('execute_code on a warm session vs python3 -c per call', warm, spawnPy);
  const cold = await ms(3, async () => { await host.services.reset('exec:local'); await host.call('execute_code', { code: 'import pandas' }, { caller: 'test' }); });
  row('cold sandbox session importing pandas vs python3 -c "import pandas"', cold, spawnPandas);
  await host.dispose();
}

// 3. read_csv of the first 1,000 rows: a ~1 MB file against a ~100 MB one (ratio near 1 = cost independent of size)
{
  const host = new ToolHost(resolveConfig({ allowedPaths: [dir], auditLogPath: path.join(dir, 'audit.jsonl'), limits: { maxFileBytes: 1 << 30 } }));
  const line = i => `${i},user${i % 977},${(i * 0.37).toFixed(2)},2025-01-${String(1 + (i % 28)).padStart(2, '0')}\n`;
  const write = (f, n) => { const fd = fs.openSync(f, 'w'); fs.writeSync(fd, 'id,name,score,day\n'); let buf = ''; for (let i = 0; i < n; i++) { buf += line(i); if (buf.length > 1 << 20) { fs.writeSync(fd, buf); buf = ''; } } fs.writeSync(fd, buf); fs.closeSync(fd); };
  write(path.join(dir, 'small.csv'), 30_000);
  write(path.join(dir, 'large.csv'), 3_000_000);
  const small = await ms(10, () => host.call('read_csv', { file_path: 'small.csv', n_rows: 1000 }, { caller: 'test' }));
  const large = await ms(10, () => host.call('read_csv', { file_path: 'large.csv', n_rows: 1000 }, { caller: 'test' }));
  row(`read_csv first 1,000 rows: ${(fs.statSync(path.join(dir, 'large.csv')).size / 1e6).toFixed(0)} MB file vs ${(fs.statSync(path.join(dir, 'small.csv')).size / 1e6).toFixed(1)} MB file`, large, small);
  await host.dispose();
}
fs.rmSync(dir, { recursive: true, force: true });
