import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';

const BIN = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'].find(d => fs.existsSync(path.join(d, 'initdb')));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const a = s.address() as net.AddressInfo; s.close(() => resolve(a.port)); });
  });
}

export interface PgCluster { url: string; adminUrl: string; port: number; dataDir: string; stop: () => void }

/** A throwaway PostgreSQL cluster (Debian's postgresql) on a loopback port, run as the postgres user. */
export async function startPostgres(): Promise<PgCluster> {
  if (!BIN) throw new Error('PostgreSQL server binaries are missing: apt-get install postgresql (bash .ci/setup does)');
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-pg-'));
  const dataDir = path.join(base, 'data');
  const asRoot = process.getuid?.() === 0;
  const as = (cmd: string, args: string[]) => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]) as [string, string[]];
  fs.chmodSync(base, 0o755);
  if (asRoot) execFileSync('chown', ['postgres:postgres', base]);
  const port = await freePort();
  let [c, a] = as(path.join(BIN, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  execFileSync(c, a, { stdio: 'pipe' });
  [c, a] = as(path.join(BIN, 'pg_ctl'), ['-D', dataDir, '-l', path.join(base, 'log'), '-w', '-o',
    `-p ${port} -k ${base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off`, 'start']);
  const r = spawnSync(c, a, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pg_ctl start failed: ${r.stderr}${r.stdout}\n${fs.readFileSync(path.join(base, 'log'), 'utf8')}`);
  const stop = () => {
    const [sc, sa] = as(path.join(BIN, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    spawnSync(sc, sa, { stdio: 'ignore' });
    fs.rmSync(base, { recursive: true, force: true });
  };
  process.once('exit', stop);
  const adminUrl = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  return { url: adminUrl, adminUrl, port, dataDir, stop };
}

/** Runs SQL as the superuser through psql. */
export function psql(adminUrl: string, sql: string, db?: string): string {
  const url = db ? adminUrl.replace(/\/[^/]*$/, `/${db}`) : adminUrl;
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-X', '-q', '-A', '-t', '-c', sql], { encoding: 'utf8' }).trim();
}
