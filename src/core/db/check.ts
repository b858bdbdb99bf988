import type { DataToolsConfig } from '../config';
import { connectionFor, pinSession } from './service';
import { PostgresDatabase } from './postgres';
import { SampleDatabase } from './sample';
import type { Database } from './types';

export interface ConnectionReport {
  ok: boolean;
  label: string;
  server?: string;
  user?: string;
  superuser?: boolean;
  /** Up to 5 tables the user may INSERT, UPDATE, DELETE or TRUNCATE. */
  writable: string[];
  /** Sentences to show the user: the failure, or why the role is broader than SELECT. */
  warnings: string[];
  error?: string;
}

/** Connects, reads the server version, and checks that the login role is as narrow as the docs recommend
 *  (SELECT grants only): read-only is still enforced per query, but a narrow role is the second wall. */
export async function checkConnection(cfg: DataToolsConfig, name?: string, timeoutMs = 10_000): Promise<ConnectionReport> {
  const c = connectionFor(cfg, name);
  const db: Database = c.url ? new PostgresDatabase(c.url) : new SampleDatabase();
  const report: ConnectionReport = { ok: false, label: db.label, writable: [], warnings: [] };
  try {
    await db.readOnly(timeoutMs, new AbortController().signal, async run => {
      await pinSession(db, run, timeoutMs);
      const v = await run(`SELECT current_setting('server_version'), current_user::text, r.rolsuper
        FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`);
      const [server, user, su] = (v.rows[0] ?? []) as [string, string, boolean];
      report.server = server; report.user = user; report.superuser = !!su;
      const w = await run(`SELECT format('%I.%I', n.nspname, c.relname)
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
          AND (has_table_privilege(c.oid, 'INSERT') OR has_table_privilege(c.oid, 'UPDATE')
            OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE'))
        ORDER BY 1 LIMIT 5`);
      report.writable = w.rows.map(r => String(r[0]));
    });
    report.ok = true;
    if (c.url) {
      if (report.superuser) report.warnings.push(`The login role ${report.user} is a superuser. Queries still run read-only, but a role with only SELECT grants is safer (see the README).`);
      else if (report.writable.length) report.warnings.push(`The login role ${report.user} may write to ${report.writable.join(', ')}${report.writable.length === 5 ? ' and more' : ''}. Queries still run read-only, but a role with only SELECT grants is safer.`);
    }
  } catch (e) {
    report.error = (e as Error).message;
    report.warnings.push(`Could not connect: ${report.error}`);
  } finally {
    await db.dispose();
  }
  return report;
}
