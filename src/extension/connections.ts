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

/** Arguments from code (tests, other commands): a plain object with a name and no tree node `kind`. */
function isAddArgs(a: unknown): a is AddArgs {
  return !!a && typeof a === 'object' && !('kind' in a) && typeof (a as AddArgs).name === 'string';
}

function nameProblem(name: string): string | undefined {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) return 'Use 1 to 64 letters, digits, "_", "-" or ".".';
  if (name === 'sample' || name === 'default') return `"${name}" is reserved; choose another name.`;
  return undefined;
}

export function registerConnectionCommands(context: vscode.ExtensionContext, host: ToolHost, reload: () => Promise<void>): void {
  const sub = (d: vscode.Disposable) => context.subscriptions.push(d);
  const cfg = () => vscode.workspace.getConfiguration(SECTION);

  /** Add Connection: asks for each field (or takes them as an argument), tests it, checks the grants, then saves
   *  the fields in settings and the password in SecretStorage. A view's title button hands the command the focused
   *  tree item: anything that is not an AddArgs object (it has a tree node's `kind`) starts the full wizard. */
  sub(vscode.commands.registerCommand('datatools.addConnection', async (raw?: unknown) => {
    const args = isAddArgs(raw) ? raw : undefined;
    return args ? addFromArgs(args) : wizard({});
  }));

  const save = async (setting: ConnectionSetting, password: string | undefined) => {
    if (password) await context.secrets.store(secretKey(setting.name), password); else await context.secrets.delete(secretKey(setting.name));
    const list = readConnectionSettings().filter(c => c.name !== setting.name);
    await cfg().update('connections', [...list, setting], vscode.ConfigurationTarget.Global);
    await reload();
  };
  const test = (setting: ConnectionSetting, password: string | undefined) =>
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Testing ${setting.name}…` }, () =>
      checkConnection({ ...host.config, connections: [{ name: setting.name, url: connectionUrl(setting, password) }] }, setting.name));

  /** Programmatic: every field given; a failed test saves only with save: 'always'. */
  const addFromArgs = async (args: AddArgs): Promise<ConnectionReport | undefined> => {
    const name = args.name ?? '';
    if (nameProblem(name)) { void vscode.window.showErrorMessage(nameProblem(name)!); return undefined; }
    const setting: ConnectionSetting = { name, host: args.host ?? 'localhost', port: args.port ?? 5432, database: args.database ?? 'postgres', user: args.user ?? '', ssl: args.ssl ?? 'disable' };
    const report = await test(setting, args.password);
    if (!report.ok && args.save !== 'always') return report;
    await save(setting, args.password);
    return report;
  };

  /** The person's wizard: name, host, port, database, user, password, SSL, each step validated and numbered; a
   *  failed test says why and offers to save anyway or edit the fields (the wizard again, with what was typed). */
  const wizard = async (prev: Partial<ConnectionSetting> & { password?: string }): Promise<ConnectionReport | undefined> => {
    const total = 7;
    // one input per step, numbered, validated as typed, with VS Code's Back button from the second step on
    const BACK = Symbol('back');
    type Answer = string | undefined | typeof BACK;
    const ask = (n: number, prompt: string, value: string | undefined, validate?: (v: string) => string | undefined, password = false) => new Promise<Answer>(resolve => {
      const box = vscode.window.createInputBox();
      box.title = `Add PostgreSQL connection (${n}/${total})`;
      box.prompt = prompt;
      box.value = value ?? '';
      box.password = password;
      box.ignoreFocusOut = true;
      if (n > 1) box.buttons = [vscode.QuickInputButtons.Back];
      let done = false;
      const finish = (a: Answer) => { if (done) return; done = true; resolve(a); box.dispose(); };
      box.validationMessage = validate?.(box.value);
      box.onDidChangeValue(v => { box.validationMessage = validate?.(v); });
      box.onDidAccept(() => { const problem = validate?.(box.value); if (problem) box.validationMessage = problem; else finish(box.value); });
      box.onDidTriggerButton(b => { if (b === vscode.QuickInputButtons.Back) finish(BACK); });
      box.onDidHide(() => finish(undefined));
      box.show();
    });
    const modes: { label: NonNullable<ConnectionSetting['ssl']>; description: string }[] = [
      { label: 'disable', description: 'no encryption (local servers)' },
      { label: 'require', description: 'encrypted, the certificate is not checked' },
      { label: 'verify-full', description: 'encrypted, the certificate and host name are checked' }];
    const askSsl = (current: string) => new Promise<Answer>(resolve => {
      const qp = vscode.window.createQuickPick<(typeof modes)[number]>();
      qp.title = `Add PostgreSQL connection (${total}/${total}): SSL mode`;
      qp.items = modes;
      qp.activeItems = modes.filter(m => m.label === current);
      qp.ignoreFocusOut = true;
      qp.buttons = [vscode.QuickInputButtons.Back];
      let done = false;
      const finish = (a: Answer) => { if (done) return; done = true; resolve(a); qp.dispose(); };
      qp.onDidAccept(() => finish(qp.selectedItems[0]?.label ?? qp.activeItems[0]?.label));
      qp.onDidTriggerButton(b => { if (b === vscode.QuickInputButtons.Back) finish(BACK); });
      qp.onDidHide(() => finish(undefined));
      qp.show();
    });
    const v = { name: prev.name, host: prev.host ?? 'localhost', port: String(prev.port ?? 5432), database: prev.database ?? 'postgres', user: prev.user, password: prev.password, ssl: prev.ssl ?? 'disable' };
    const steps: (() => Promise<Answer>)[] = [
      () => ask(1, 'A name for this connection (e.g. analytics)', v.name, x => nameProblem(x)),
      () => ask(2, 'Host name or address of the PostgreSQL server', v.host, x => x.trim() ? undefined : 'Enter a host name, e.g. localhost'),
      () => ask(3, 'Port', v.port, x => /^\d+$/.test(x) && Number(x) >= 1 && Number(x) <= 65535 ? undefined : 'A port is a number from 1 to 65535'),
      () => ask(4, 'Database', v.database, x => x.trim() ? undefined : 'Enter the database name'),
      () => ask(5, 'User (a role with SELECT grants only is recommended)', v.user, x => x.trim() ? undefined : 'Enter the user (login role) name'),
      () => ask(6, 'Password (stored in SecretStorage, never in settings; leave empty if none)', v.password, undefined, true),
      () => askSsl(v.ssl),
    ];
    const keys = ['name', 'host', 'port', 'database', 'user', 'password', 'ssl'] as const;
    for (let i = 0; i < steps.length;) {
      const a = await steps[i]();
      if (a === undefined) return undefined;
      if (a === BACK) { i = Math.max(0, i - 1); continue; }
      (v as Record<string, string | undefined>)[keys[i]] = a;
      i++;
    }
    const name = v.name ?? '', hostName = v.host, portText = v.port, database = v.database, user = v.user ?? '', password = v.password ?? '';
    const pick = { label: v.ssl as NonNullable<ConnectionSetting['ssl']> };
    const setting: ConnectionSetting = { name: name.trim(), host: hostName.trim(), port: Number(portText), database: database.trim(), user: user.trim(), ssl: pick.label };
    const report = await test(setting, password || undefined);
    if (!report.ok) {
      const choice = await vscode.window.showErrorMessage(`Could not connect to ${setting.name}: ${report.error}`, { modal: false }, 'Edit Connection', 'Save Anyway');
      if (choice === 'Edit Connection') return wizard({ ...setting, password });
      if (choice !== 'Save Anyway') { void vscode.window.showInformationMessage(`The connection ${setting.name} was not saved.`); return report; }
      await save(setting, password || undefined);
      void vscode.window.showWarningMessage(`Saved ${setting.name} without a working connection; fix it with Add Connection (same name) or Test Connection.`);
      return report;
    }
    await save(setting, password || undefined);
    if (report.warnings.length) void vscode.window.showWarningMessage(describeReport(report)); else void vscode.window.showInformationMessage(describeReport(report));
    return report;
  };

  const pickConnection = async (title: string, includeBuiltIn: boolean): Promise<string | undefined> => {
    const items = [
      ...(includeBuiltIn ? [{ label: 'sample', description: 'embedded sample database (PGlite)' }] : []),
      ...(includeBuiltIn && host.config.databaseUrl ? [{ label: 'default', description: 'DATABASE_URL' }] : []),
      ...readConnectionSettings().map(c => ({ label: c.name, description: `${c.user}@${c.host}:${c.port ?? 5432}/${c.database}` })),
    ];
    if (!items.length) {
      void vscode.window.showInformationMessage('You have no saved connections yet.', 'Add Connection').then(c => { if (c) void vscode.commands.executeCommand('datatools.addConnection'); });
      return undefined;
    }
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
