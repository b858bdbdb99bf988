import * as vscode from 'vscode';
import type { ToolHost } from '../core/host';
import { checkConnection, type ConnectionReport } from '../core/db/check';
import { SECTION } from './settings';

/** A named connection as stored in settings; the password lives in SecretStorage under secretKey(name). */
export interface ConnectionSetting {
  name: string;
  host: string;
  port?: number;
  database: string;
  user: string;
  ssl?: 'disable' | 'require' | 'verify-full';
}

export const secretKey = (name: string) => `datatools.connection.${name}.password`;

export function connectionUrl(c: ConnectionSetting, password?: string): string {
  const auth = `${encodeURIComponent(c.user)}${password ? `:${encodeURIComponent(password)}` : ''}`;
  const ssl = c.ssl && c.ssl !== 'disable' ? `?sslmode=${c.ssl}` : '';
  return `postgresql://${auth}@${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port ?? 5432}/${encodeURIComponent(c.database)}${ssl}`;
}

export function readConnectionSettings(): ConnectionSetting[] {
  const raw = vscode.workspace.getConfiguration(SECTION).get<unknown[]>('connections', []);
  return raw.filter((c): c is ConnectionSetting => !!c && typeof c === 'object' && typeof (c as ConnectionSetting).name === 'string'
    && typeof (c as ConnectionSetting).host === 'string' && typeof (c as ConnectionSetting).database === 'string' && typeof (c as ConnectionSetting).user === 'string');
}

export function describeReport(r: ConnectionReport): string {
  if (!r.ok) return `Connection failed: ${r.error}`;
  return `Connected to ${r.label} (PostgreSQL ${r.server}) as ${r.user}.${r.warnings.length ? ` ${r.warnings.join(' ')}` : ' The role has no write grants.'}`;
}

type AddArgs = Partial<ConnectionSetting> & { password?: string; save?: 'always' | 'ifOk' };

export function registerConnectionCommands(context: vscode.ExtensionContext, host: ToolHost, reload: () => Promise<void>): void {
  const sub = (d: vscode.Disposable) => context.subscriptions.push(d);
  const cfg = () => vscode.workspace.getConfiguration(SECTION);

  /** Add Connection: asks for each field (or takes them as an argument), tests it, checks the grants, then saves
   *  the fields in settings and the password in SecretStorage. */
  sub(vscode.commands.registerCommand('datatools.addConnection', async (args?: AddArgs) => {
    const ask = async (key: keyof ConnectionSetting, prompt: string, value?: string, password = false) =>
      (args?.[key] !== undefined ? String(args[key]) : await vscode.window.showInputBox({ title: 'Add PostgreSQL connection', prompt, value, password, ignoreFocusOut: true }));
    const name = await ask('name', 'A name for this connection (e.g. analytics)');
    if (!name) return;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || name === 'sample' || name === 'default') {
      void vscode.window.showErrorMessage(`"${name}" is not a usable name: letters, digits, "_", "-", "." (and not "sample" or "default").`);
      return;
    }
    const hostName = await ask('host', 'Host', 'localhost'); if (!hostName) return;
    const port = Number(await ask('port', 'Port', '5432')); if (!Number.isInteger(port) || port < 1 || port > 65535) return;
    const database = await ask('database', 'Database', 'postgres'); if (!database) return;
    const user = await ask('user', 'User (a role with SELECT grants only is recommended)'); if (!user) return;
    const password = args ? args.password : await vscode.window.showInputBox({ title: 'Add PostgreSQL connection', prompt: 'Password (stored in SecretStorage, never in settings)', password: true, ignoreFocusOut: true });
    let ssl = args?.ssl;
    if (!args) {
      const pick = await vscode.window.showQuickPick([{ label: 'disable' }, { label: 'require' }, { label: 'verify-full' }], { title: 'SSL mode' });
      if (!pick) return;
      ssl = pick.label as ConnectionSetting['ssl'];
    }
    const setting: ConnectionSetting = { name, host: hostName, port, database, user, ssl: ssl ?? 'disable' };
    const report = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Testing ${name}…` }, () =>
      checkConnection({ ...host.config, connections: [{ name, url: connectionUrl(setting, password) }] }, name));
    if (!report.ok) {
      const choice = args?.save === 'always' ? 'Save Anyway' : args ? undefined : await vscode.window.showWarningMessage(describeReport(report), 'Save Anyway');
      if (choice !== 'Save Anyway') return report;
    } else if (report.warnings.length) void vscode.window.showWarningMessage(describeReport(report));
    else void vscode.window.showInformationMessage(describeReport(report));
    if (password) await context.secrets.store(secretKey(name), password); else await context.secrets.delete(secretKey(name));
    const list = readConnectionSettings().filter(c => c.name !== name);
    await cfg().update('connections', [...list, setting], vscode.ConfigurationTarget.Global);
    await reload();
    return report;
  }));

  const pickConnection = async (title: string, includeBuiltIn: boolean): Promise<string | undefined> => {
    const items = [
      ...(includeBuiltIn ? [{ label: 'sample', description: 'embedded sample database (PGlite)' }] : []),
      ...(includeBuiltIn && host.config.databaseUrl ? [{ label: 'default', description: 'DATABASE_URL' }] : []),
      ...readConnectionSettings().map(c => ({ label: c.name, description: `${c.user}@${c.host}:${c.port ?? 5432}/${c.database}` })),
    ];
    if (!items.length) { void vscode.window.showInformationMessage('No connections are configured. Use "Data Tools: Add Connection".'); return undefined; }
    return (await vscode.window.showQuickPick(items, { title }))?.label;
  };

  sub(vscode.commands.registerCommand('datatools.testConnection', async (arg?: string | { name: string }) => {
    const n = (typeof arg === 'object' ? arg?.name : arg) ?? await pickConnection('Test which connection?', true);
    if (!n) return;
    const report = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Testing ${n}…` }, () => checkConnection(host.config, n));
    const show = !report.ok ? vscode.window.showErrorMessage : report.warnings.length ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(describeReport(report));
    return report;
  }));

  sub(vscode.commands.registerCommand('datatools.removeConnection', async (name?: string) => {
    const n = name ?? await pickConnection('Remove which connection?', false);
    if (!n) return false;
    const list = readConnectionSettings();
    if (!list.some(c => c.name === n)) { void vscode.window.showErrorMessage(`There is no connection named ${n}.`); return false; }
    await cfg().update('connections', list.filter(c => c.name !== n), vscode.ConfigurationTarget.Global);
    await context.secrets.delete(secretKey(n));
    if (cfg().get<string>('activeConnection') === n) await cfg().update('activeConnection', undefined, vscode.ConfigurationTarget.Global);
    await reload();
    void vscode.window.showInformationMessage(`Removed the connection ${n} and its stored password.`);
    return true;
  }));

  sub(vscode.commands.registerCommand('datatools.selectConnection', async (name?: string) => {
    const n = name ?? await pickConnection('Active connection for the database tools', true);
    if (!n) return;
    await cfg().update('activeConnection', n === 'sample' && !host.config.databaseUrl ? undefined : n, vscode.ConfigurationTarget.Global);
  }));
}
