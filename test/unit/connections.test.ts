import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ToolHost } from '../../src/core/host';
import { configFromEnv, resolveConfig } from '../../src/core/config';
import { checkConnection } from '../../src/core/db/check';
import { tmpDir } from '../helpers/mcp';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';

describe('named connections, the active connection and the grants check (real PostgreSQL)', () => {
  let pg: PgCluster;
  const dir = tmpDir('conn');
  const url = (user: string) => `postgresql://${user}:pw-${user}@127.0.0.1:${pg.port}/postgres`;

  before(async () => {
    pg = await startPostgres();
    psql(pg.adminUrl, `CREATE TABLE sales (id int PRIMARY KEY, amount numeric); INSERT INTO sales VALUES (1, 10), (2, 20);
      CREATE ROLE reader LOGIN; GRANT SELECT ON sales TO reader;
      CREATE ROLE writer LOGIN; GRANT SELECT, INSERT ON sales TO writer;`);
  });
  after(() => pg?.stop());

  test('a SELECT-only role passes; a role with write grants and a superuser get a warning naming them', async () => {
    const cfg = resolveConfig({ allowedPaths: [dir], connections: [{ name: 'ro', url: url('reader') }, { name: 'rw', url: url('writer') }, { name: 'admin', url: pg.adminUrl }] });
    const ro = await checkConnection(cfg, 'ro');
    assert.equal(ro.ok, true, ro.error);
    assert.equal(ro.user, 'reader');
    assert.match(ro.server ?? '', /^1\d/);
    assert.deepEqual(ro.writable, []);
    assert.deepEqual(ro.warnings, []);
    const rw = await checkConnection(cfg, 'rw');
    assert.deepEqual(rw.writable, ['public.sales']);
    assert.match(rw.warnings.join(' '), /writer may write to public\.sales\. Queries still run read-only/);
    const admin = await checkConnection(cfg, 'admin');
    assert.equal(admin.superuser, true);
    assert.match(admin.warnings.join(' '), /is a superuser/);
    const sample = await checkConnection(cfg, 'sample');
    assert.equal(sample.ok, true, sample.error);
    assert.match(sample.label, /sample/);
  });

  test('an unreachable server is reported, not thrown, and the password never appears', async () => {
    const cfg = resolveConfig({ allowedPaths: [dir], connections: [{ name: 'down', url: 'postgresql://u:s3cret-pw@127.0.0.1:1/db' }] });
    const r = await checkConnection(cfg, 'down', 3000);
    assert.equal(r.ok, false);
    assert.match(r.warnings[0], /Could not connect/);
    assert.doesNotMatch(JSON.stringify(r), /s3cret-pw/);
  });

  test('the active connection is used when a call names none; a named one overrides it', async () => {
    const host = new ToolHost(resolveConfig({ allowedPaths: [dir], auditLogPath: path.join(dir, 'a.jsonl'), connections: [{ name: 'ro', url: url('reader') }], activeConnection: 'ro' }));
    try {
      const r = await host.call('execute_query', { query: 'SELECT current_user AS u, count(*) AS n FROM sales' }, { caller: 'test' });
      assert.match(r.text, /\nreader \| 2/);
      const s = await host.call('list_tables', { connection: 'sample' }, { caller: 'test' });
      assert.match(s.text, /user_behavior/);
      const missing = await host.call('list_tables', { connection: 'nope' }, { caller: 'test' });
      assert.match(missing.text, /There is no connection named "nope". Known: sample, ro/);
    } finally { await host.dispose(); }
  });

  test('DATATOOLS_CONNECTIONS and DATATOOLS_CONNECTION configure the MCP server the same way', () => {
    const cfg = configFromEnv({ DATATOOLS_CONNECTIONS: JSON.stringify([{ name: 'ro', url: url('reader') }]), DATATOOLS_CONNECTION: 'ro' });
    assert.deepEqual(cfg.connections.map(c => c.name), ['ro']);
    assert.equal(cfg.activeConnection, 'ro');
    assert.throws(() => configFromEnv({ DATATOOLS_CONNECTIONS: '{nope' }), /not valid JSON/);
  });
});
