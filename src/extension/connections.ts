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

/** A pasted connection URL: postgres:// or postgresql:// (what people copy from a host's dashboard). */
export const looksLikeUrl = (text: string) => /^\s*postgres(?:ql)?:\/\//i.test(text);

/** The fields of a connection URL, the password apart (it goes to SecretStorage); a string: what is wrong with it. */
export function parseConnectionUrl(text: string): (Omit<ConnectionSetting, 'name'> & { password?: string }) | string {
  let u: URL;
  try { u = new URL(text.trim()); } catch { return 'It is not a valid URL. The form is postgres://user:password@host:5432/database'; }
  if (!/^postgres(ql)?:$/i.test(u.protocol)) return 'A connection URL starts with postgres:// or postgresql://';
  const host = decodeURIComponent(u.hostname.replace(/^\[(.*)\]$/, '$1'));
  if (!host) return 'The URL has no host: the form is postgres://user:password@host:5432/database';
  const port = u.port ? Number(u.port) : 5432;
  const user = decodeURIComponent(u.username);
  if (!user) return 'The URL has no user: the form is postgres://user:password@host:5432/database';
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || user;
  const mode = (u.searchParams.get('sslmode') ?? 'disable').toLowerCase();
  const ssl = ({ disable: 'disable', allow: 'disable', prefer: 'disable', require: 'require', 'verify-ca': 'verify-full', 'verify-full': 'verify-full' } as Record<string, ConnectionSetting['ssl']>)[mode];
  if (!ssl) return `sslmode=${mode} is not one of disable, require, verify-full`;
  return { host, port, database, user, ssl, ...(u.password ? { password: decodeURIComponent(u.password) } : {}) };
}

/** A URL as shown back to the person: never its password. */
export const shownUrl = (c: Omit<ConnectionSetting, 'name'>) => `${c.user}@${c.host}:${c.port ?? 5432}/${c.database}${c.ssl && c.ssl !== 'disable' ? ` (sslmode ${c.ssl})` : ''}`;

/** A failed connection test in a sentence: what failed, and what to check (the driver's words in brackets). */
export function explainFailure(c: Pick<ConnectionSetting, 'host' | 'port' | 'database' | 'user'>, error = ''): string {
  const at = `${c.host} port ${c.port ?? 5432}`;
  const raw = ` (${error.split('\n')[0]})`;
  if (/ECONNREFUSED/.test(error)) return `nothing accepts connections at ${at} (the connection was refused). Check that PostgreSQL is running there and that the host and port are right.${raw}`;
  if (/ENOTFOUND|EAI_AGAIN|EAI_NONAME|getaddrinfo/.test(error)) return `the host name ${c.host} is not known. Check its spelling, or use the server's IP address.${raw}`;
  if (/password authentication failed|SASL|client password must be|no password supplied/i.test(error)) return `the server refused the password for the user ${c.user}. Check the user and the password.${raw}`;
  if (/timeout|timed out|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH/i.test(error)) return `${at} did not answer in time. Check the host and port, and that a firewall or VPN lets you reach the server.${raw}`;
  if (/database ".*" does not exist/.test(error)) return `the server has no database named ${c.database}. Check the database name.${raw}`;
  if (/role ".*" does not exist/.test(error)) return `the server has no user (login role) named ${c.user}. Check the user name.${raw}`;
  if (/pg_hba\.conf|SSL|ssl/.test(error)) return `the server did not accept this kind of connection from here. Check the SSL mode, and that the server allows this user from this machine.${raw}`;
  return `the connection failed${raw}. Check the host, port, database, user and password.`;
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

export function registerConnectionCommands(context: vscode.ExtensionContext, host: ToolHost, reload: () => Promise<void>, output?: vscode.LogOutputChannel): void {
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
  const test = async (setting: ConnectionSetting, password: string | undefined) => {
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Testing ${setting.name}…` }, () =>
      checkConnection({ ...host.config, connections: [{ name: setting.name, url: connectionUrl(setting, password) }] }, setting.name));
    if (!r.ok) output?.warn(`Connection ${setting.name} (${shownUrl(setting)}) failed: ${explainFailure(setting, r.error)}`);
    return r;
  };

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

  /** The person's wizard. It starts with a choice: paste a connection URL (then only a name is asked), or enter the
   *  fields one by one (name, host, port, database, user, password, SSL; each step numbered, with Back, checked as
   *  typed but never before the person typed). A URL pasted into the Host step is taken as a URL. A failed test
   *  names the connection and says what failed and what to check, with Edit Connection and Save Anyway. */
  const wizard = async (prev: Partial<ConnectionSetting> & { password?: string }, fromStart = true): Promise<ConnectionReport | undefined> => {
    const total = 7;
    const BACK = Symbol('back');
    type Answer = string | undefined | typeof BACK;
    type Check = (v: string) => string | vscode.InputBoxValidationMessage | undefined;
    const isProblem = (m: ReturnType<Check>) => typeof m === 'string' || m?.severity === vscode.InputBoxValidationSeverity.Error;
    const ask = (title: string, prompt: string, value: string | undefined, back: boolean, validate?: Check, password = false) => new Promise<Answer>(resolve => {
      const box = vscode.window.createInputBox();
      box.title = title;
      box.prompt = prompt;
      box.value = value ?? '';
      box.password = password;
      box.ignoreFocusOut = true;
      if (back) box.buttons = [vscode.QuickInputButtons.Back];
      let done = false;
      const finish = (a: Answer) => { if (done) return; done = true; resolve(a); box.dispose(); };
      // no check before the person typed: a step never opens showing an error
      box.onDidChangeValue(v => { box.validationMessage = validate?.(v); });
      box.onDidAccept(() => { const problem = validate?.(box.value); if (isProblem(problem)) box.validationMessage = problem; else finish(box.value); });
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
    /** The first step: a URL typed or pasted into the box, or "enter the fields". */
    type Start = { url: string } | 'fields' | undefined;
    const askStart = () => new Promise<Start>(resolve => {
      type Item = vscode.QuickPickItem & { act: 'url' | 'fields' | 'bad' };
      const fields: Item = { label: '$(edit) Enter the host, port, database and user one by one', alwaysShow: true, act: 'fields' };
      const qp = vscode.window.createQuickPick<Item>();
      qp.title = 'Add PostgreSQL connection';
      qp.placeholder = 'Paste a connection URL (postgres://user:password@host:5432/database), or enter the fields';
      qp.items = [fields];
      qp.ignoreFocusOut = true;
      qp.matchOnDescription = false;
      let done = false;
      const finish = (a: Start) => { if (done) return; done = true; resolve(a); qp.dispose(); };
      qp.onDidChangeValue(v => {
        if (!looksLikeUrl(v)) { qp.items = [fields]; return; }
        const p = parseConnectionUrl(v);
        qp.items = [typeof p === 'string'
          ? { label: `$(warning) Not a usable connection URL: ${p}`, alwaysShow: true, act: 'bad' }
          : { label: '$(link) Use this connection URL', description: shownUrl(p), detail: p.password ? 'The password in it is stored in SecretStorage, never in settings.' : 'It has no password; you can add one after.', alwaysShow: true, act: 'url' }, fields];
      });
      qp.onDidAccept(() => {
        const it = qp.selectedItems[0] ?? qp.activeItems[0];
        if (!it || it.act === 'bad') return;
        finish(it.act === 'url' ? { url: qp.value } : 'fields');
      });
      qp.onDidHide(() => finish(undefined));
      qp.show();
    });

    const v = { name: prev.name, host: prev.host ?? 'localhost', port: String(prev.port ?? 5432), database: prev.database ?? 'postgres', user: prev.user, password: prev.password, ssl: prev.ssl ?? 'disable' };
    const fillFrom = (p: Exclude<ReturnType<typeof parseConnectionUrl>, string>) => {
      v.host = p.host; v.port = String(p.port ?? 5432); v.database = p.database; v.user = p.user; v.ssl = p.ssl ?? 'disable';
      if (p.password !== undefined) v.password = p.password;
    };
    const nameCheck: Check = x => nameProblem(x.trim());
    let fromUrl = false;
    if (fromStart) {
      const start = await askStart();
      if (!start) return undefined;
      if (start !== 'fields') {
        const p = parseConnectionUrl(start.url);
        if (typeof p === 'string') return undefined;
        fillFrom(p);
        fromUrl = true;
        const suggested = [p.database, p.host.split('.')[0]].find(x => x && !nameProblem(x)) ?? '';
        const n = await ask('Add PostgreSQL connection (2/2): name', `A name for ${shownUrl(p)} (e.g. analytics)`, v.name ?? suggested, false, nameCheck);
        if (n === undefined || n === BACK) return undefined;
        v.name = n;
      }
    }
    const hostCheck: Check = x => {
      if (looksLikeUrl(x)) {
        const p = parseConnectionUrl(x);
        return typeof p === 'string' ? `This looks like a connection URL, but: ${p}`
          : { message: `That is a connection URL (${shownUrl(p)}): press Enter to use it; its port, database, user${p.password ? ', password' : ''} and SSL mode fill the other steps.`, severity: vscode.InputBoxValidationSeverity.Info };
      }
      if (/[/@\s]/.test(x.trim())) return 'A host is a name or an address only, e.g. db.example.com or 10.0.0.5 (or paste a whole postgres:// URL)';
      return x.trim() ? undefined : 'Enter a host name, e.g. localhost';
    };
    const step = (n: number) => `Add PostgreSQL connection (${n}/${total})`;
    const steps: (() => Promise<Answer>)[] = [
      () => ask(step(1), 'A name for this connection (e.g. analytics)', v.name, false, nameCheck),
      () => ask(step(2), 'Host name or address of the PostgreSQL server (or paste a postgres:// URL)', v.host, true, hostCheck),
      () => ask(step(3), 'Port', v.port, true, x => /^\d+$/.test(x) && Number(x) >= 1 && Number(x) <= 65535 ? undefined : 'A port is a number from 1 to 65535'),
      () => ask(step(4), 'Database', v.database, true, x => x.trim() ? undefined : 'Enter the database name'),
      () => ask(step(5), 'User (a role with SELECT grants only is recommended)', v.user, true, x => x.trim() ? undefined : 'Enter the user (login role) name'),
      () => ask(step(6), 'Password (stored in SecretStorage, never in settings; leave empty if none)', v.password, true, undefined, true),
      () => askSsl(v.ssl),
    ];
    const keys = ['name', 'host', 'port', 'database', 'user', 'password', 'ssl'] as const;
    for (let i = 0; !fromUrl && i < steps.length;) {
      const a = await steps[i]();
      if (a === undefined) return undefined;
      if (a === BACK) { i = Math.max(0, i - 1); continue; }
      if (keys[i] === 'host' && looksLikeUrl(a)) {
        // a URL pasted into Host: its fields fill the rest, and the test runs
        const p = parseConnectionUrl(a);
        if (typeof p !== 'string') { fillFrom(p); break; }
      }
      (v as Record<string, string | undefined>)[keys[i]] = a;
      i++;
    }
    const password = v.password ?? '';
    const setting: ConnectionSetting = { name: (v.name ?? '').trim(), host: v.host.trim(), port: Number(v.port), database: v.database.trim(), user: (v.user ?? '').trim(), ssl: v.ssl as NonNullable<ConnectionSetting['ssl']> };
    const report = await test(setting, password || undefined);
    if (!report.ok) {
      const choice = await vscode.window.showErrorMessage(`Could not connect to ${setting.name}: ${explainFailure(setting, report.error)}`, { modal: false }, 'Edit Connection', 'Save Anyway');
      if (choice === 'Edit Connection') return wizard({ ...setting, password }, false);
      if (choice !== 'Save Anyway') { void vscode.window.showInformationMessage(`The connection ${setting.name} was not saved.`); return report; }
      await save(setting, password || undefined);
      void vscode.window.showWarningMessage(`Saved ${setting.name} without a working connection; fix it with Add Connection (same name) or Test Connection.`);
      return report;
    }
    await save(setting, password || undefined);
    if (report.warnings.length) void vscode.window.showWarningMessage(`Saved ${setting.name}. ${describeReport(report)}`); else void vscode.window.showInformationMessage(`Saved ${setting.name}. ${describeReport(report)}`);
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
    if (!report.ok) {
      const saved = readConnectionSettings().find(c => c.name === n);
      const why = saved ? explainFailure(saved, report.error) : `the connection failed (${report.error?.split('\n')[0]}).`;
      output?.warn(`Connection ${n} failed: ${why}`);
      void vscode.window.showErrorMessage(`Could not connect to ${n}: ${why}`);
      return report;
    }
    const show = report.warnings.length ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(describeReport(report));
    return report;
  }));

  /** Remove Connection: the person picks one and confirms in a modal naming it; a name passed from code (tests,
   *  other commands) is removed without the question. Either way it says what it removed. */
  sub(vscode.commands.registerCommand('datatools.removeConnection', async (name?: string) => {
    const n = typeof name === 'string' ? name : await pickConnection('Remove which connection?', false);
    if (!n) return false;
    const list = readConnectionSettings();
    const c = list.find(x => x.name === n);
    if (!c) { void vscode.window.showErrorMessage(`There is no connection named ${n}.`); return false; }
    if (typeof name !== 'string') {
      const ok = await vscode.window.showWarningMessage(`Remove the connection ${n}?`, { modal: true, detail: `${shownUrl(c)}. Its settings and its stored password are deleted; the database itself is not touched.` }, 'Remove');
      if (ok !== 'Remove') return false;
    }
    await cfg().update('connections', list.filter(c => c.name !== n), vscode.ConfigurationTarget.Global);
    await context.secrets.delete(secretKey(n));
    if (cfg().get<string>('activeConnection') === n) await cfg().update('activeConnection', undefined, vscode.ConfigurationTarget.Global);
    await reload();
    void vscode.window.showInformationMessage(`Removed connection ${n} (its settings and stored password).`);
    return true;
  }));

  sub(vscode.commands.registerCommand('datatools.selectConnection', async (name?: string) => {
    const n = name ?? await pickConnection('Active connection for the database tools', true);
    if (!n) return;
    await cfg().update('activeConnection', n === 'sample' && !host.config.databaseUrl ? undefined : n, vscode.ConfigurationTarget.Global);
  }));
}
