import * as vscode from 'vscode';
import * as path from 'node:path';
import { loadModule, parseSync } from 'libpg-query';
import type { CallResult, ToolHost } from '../core/host';
import { restartExecutors } from '../core/tools/exec';
import type { ResultStore } from './results';
import type { ResultPanel } from './resultPanel';
import { qualified, type DataExplorer, type Node } from './explorer';
import type { AuditEntry } from '../core/audit';
import { ROLE_LABELS, grantedCapabilities, rolesWith, type Capability } from '../core/roles';

const DOING: Record<Capability, string> = {
  'code.execute': 'run Python code', 'code.install': 'install Python packages', 'code.script': 'run Python files',
  'env.read': 'describe the Python environment', 'db.read': 'query databases', 'files.read': 'read data files', 'files.write': 'write files',
};

/** A refusal told to the person who clicked (the tool's text is written for a model): what is not allowed, why,
 *  and buttons that change it. */
export async function explainRefusal(host: ToolHost, tool: string): Promise<void> {
  const t = host.find(tool);
  if (!t) { void vscode.window.showErrorMessage(`Data Tools has no "${tool}" action.`); return; }
  const doing = DOING[t.capability as Capability] ?? `use ${tool}`;
  const inRole = grantedCapabilities({ role: host.config.role, trusted: true }).has(t.capability as Capability);
  if (inRole && !host.isTrusted) {
    const c = await vscode.window.showWarningMessage(`This workspace is not trusted, so Data Tools does not ${doing} here.`, 'Manage Workspace Trust');
    if (c) await vscode.commands.executeCommand('workbench.trust.manage');
    return;
  }
  const roles = rolesWith(t.capability as Capability).map(r => ROLE_LABELS[r]);
  const c = await vscode.window.showWarningMessage(`Your Data Tools role, ${ROLE_LABELS[host.config.role]}, does not ${doing}.${roles.length ? ` Switch to ${roles.join(' or ')} to do it.` : ''}`,
    'Switch Role', 'Open Settings');
  if (c === 'Switch Role') await vscode.commands.executeCommand('datatools.selectRole');
  else if (c === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'datatools.role');
}

/** The connection a "-- connection: name" comment among the first lines of a SQL file names. */
export function connectionOf(text: string): string | undefined {
  for (const line of text.split(/\r?\n/).slice(0, 20)) {
    const m = /^\s*--\s*connection:\s*(\S+)\s*$/i.exec(line);
    if (m) return m[1];
    if (line.trim() && !line.trim().startsWith('--')) break;
  }
  return undefined;
}

/** The statement of a multi-statement text that holds the offset (PostgreSQL's own parser splits it); undefined
 *  for one statement or text that does not parse (the server then says why). */
export async function statementAt(text: string, offset: number): Promise<{ sql: string; index: number; count: number } | undefined> {
  let stmts: { stmt_location?: number; stmt_len?: number }[];
  try {
    await loadModule();
    stmts = (parseSync(text) as { stmts?: { stmt_location?: number; stmt_len?: number }[] }).stmts ?? [];
  } catch { return undefined; }
  if (stmts.length < 2) return undefined;
  const buf = Buffer.from(text, 'utf8');
  const at = Buffer.byteLength(text.slice(0, offset), 'utf8');
  const ranges = stmts.map(st => { const start = st.stmt_location ?? 0; return { start, end: st.stmt_len ? start + st.stmt_len : buf.length }; });
  // the cursor just after a statement's ";" still belongs to it
  let index = ranges.findIndex(r => at >= r.start && at <= r.end + 1);
  if (index < 0) index = at < ranges[0].start ? 0 : ranges.length - 1;
  const sql = buf.subarray(ranges[index].start, ranges[index].end).toString('utf8').trim();
  return sql ? { sql, index, count: stmts.length } : undefined;
}

export const activeConnection = (host: ToolHost) => host.config.activeConnection ?? (host.config.databaseUrl ? 'default' : 'sample');

const DATA_FILE = /\.(csv|tsv|txt|jsonl|ndjson|parquet|arrow|feather|ipc|arrows)$/i;

/** The command-palette front end: each command is one catalog tool call, shown in the result view. */
export function registerCommands(context: vscode.ExtensionContext, host: ToolHost, results: ResultStore, panel: ResultPanel, output: vscode.LogOutputChannel, explorer: DataExplorer): void {
  const sub = (d: vscode.Disposable) => context.subscriptions.push(d);
  const python = vscode.window.createOutputChannel('Data Tools: Python');
  sub(python);

  /** Runs a tool with a cancellable progress notification, then opens its result (or shows why it failed). */
  const run = async (tool: string, input: unknown, title: string, o: { stream?: boolean; context?: string } = {}): Promise<CallResult | undefined> => {
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (_p, token) => {
      const ac = new AbortController();
      const s = token.onCancellationRequested(() => ac.abort());
      if (o.stream) { python.show(true); python.appendLine(`── ${title} ──`); }
      try {
        return await host.call(tool, input, { caller: 'command', signal: ac.signal,
          onProgress: o.stream ? e => { if (e.kind !== 'status') python.append(e.text); } : undefined });
      } finally { s.dispose(); }
    });
    const stored = results.add(tool, r, o.context);
    if (r.outcome === 'cancelled') {
      // the person stopped it: not a database error, nothing to open
      void vscode.window.showInformationMessage(`Cancelled: ${title}.`);
      return r;
    }
    if (r.outcome === 'refused') { void explainRefusal(host, tool); return r; }
    if (r.outcome === 'invalid') {
      void vscode.window.showErrorMessage(r.text.split('\n')[0]);
      return r;
    }
    await panel.show(stored);
    if (r.isError) output.warn(`${tool}: ${r.text.split('\n')[0]}`);
    return r;
  };

  sub(vscode.commands.registerCommand('datatools.runQuery', async () => {
    const ed = vscode.window.activeTextEditor;
    if (!ed) { void vscode.window.showInformationMessage('Open a .sql file or select a query first.'); return; }
    const sel = ed.selection;
    // the "-- connection:" line says where to run, it is not part of the query (nor of the result's title)
    const query = (sel.isEmpty ? ed.document.getText() : ed.document.getText(sel)).replace(/^\s*--\s*connection:.*$/im, '').trim().replace(/;\s*$/, '');
    if (!query) { void vscode.window.showInformationMessage('The editor is empty: write a query first.'); return; }
    // a "-- connection: X" line at the top of the file (New Query writes it) names the connection; else the active one
    const named = connectionOf(ed.document.getText());
    const connection = named ?? activeConnection(host);
    // several statements and no selection: the one under the cursor, as in the SQL editors people know
    const at = sel.isEmpty ? await statementAt(ed.document.getText(), ed.document.offsetAt(sel.active)) : undefined;
    const sql = at ? at.sql.replace(/^\s*--\s*connection:.*$/im, '').trim().replace(/;\s*$/, '') : query;
    const what = at ? `statement ${at.index + 1} of ${at.count}` : 'query';
    return run('execute_query', { query: sql, ...(named ? { connection: named } : {}) }, `Running ${what} on ${connection}`, { context: connection });
  }));

  /** A local file (Uri or path) or an s3:// URL; without one, the active editor's file or a file picker. */
  sub(vscode.commands.registerCommand('datatools.previewDataFile', async (arg?: vscode.Uri | string) => {
    let target = typeof arg === 'string' ? arg : (arg ?? vscode.window.activeTextEditor?.document.uri)?.fsPath;
    if (!target || !DATA_FILE.test(target)) {
      const picked = await vscode.window.showOpenDialog({ title: 'Preview a data file', canSelectMany: false,
        filters: { 'Data files': ['csv', 'tsv', 'parquet', 'arrow', 'feather', 'jsonl', 'ndjson'] },
        defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(host.config.allowedPaths[0] ?? '/') });
      target = picked?.[0]?.fsPath;
    }
    if (!target) return;
    const columnar = /\.(parquet|arrow|feather|ipc|arrows)$/i.test(target);
    return run(columnar ? 'read_parquet' : 'read_csv', { file_path: target, n_rows: 10_000 }, `Reading ${path.basename(target)}`);
  }));

  sub(vscode.commands.registerCommand('datatools.runPythonFile', async (uri?: vscode.Uri) => {
    const target = uri ?? vscode.window.activeTextEditor?.document.uri;
    if (!target || !target.fsPath.endsWith('.py')) { void vscode.window.showInformationMessage('Open a Python (.py) file first.'); return; }
    const doc = vscode.workspace.textDocuments.find(d => d.uri.toString() === target.toString());
    if (doc?.isDirty) await doc.save();
    return run('run_script', { script_path: target.fsPath }, `Running ${path.basename(target.fsPath)} in the sandbox`, { stream: true });
  }));

  sub(vscode.commands.registerCommand('datatools.runSelectionInSandbox', async () => {
    const ed = vscode.window.activeTextEditor;
    if (!ed) { void vscode.window.showInformationMessage('Select some Python code first.'); return; }
    const code = ed.selection.isEmpty ? ed.document.getText() : ed.document.getText(ed.selection);
    if (!code.trim()) { void vscode.window.showInformationMessage('Nothing to run: the selection is empty.'); return; }
    return run('execute_code', { code }, 'Running Python in the sandbox', { stream: true });
  }));

  sub(vscode.commands.registerCommand('datatools.restartSandbox', async () => {
    await restartExecutors(host.services);
    void vscode.window.showInformationMessage('The Python sandbox was restarted; variables from earlier runs are gone.');
  }));

  sub(vscode.commands.registerCommand('datatools.showResult', async (id?: string) => {
    const r = id ? results.get(id) : results.list()[0];
    if (r) await panel.show(r);
    else void vscode.window.showInformationMessage('That result is no longer in memory; run the tool again.');
  }));

  // Data Explorer context actions
  type Rel = Extract<Node, { kind: 'relation' }>;
  sub(vscode.commands.registerCommand('datatools.explorer.refresh', (n?: Node) => explorer.refresh(n)));
  sub(vscode.commands.registerCommand('datatools.explorer.preview', async (n: Node) => {
    if (n?.kind === 'relation') return run('execute_query', { query: `SELECT * FROM ${qualified(n)}`, max_rows: 1000, count: true, connection: n.connection }, `Previewing ${n.schema}.${n.name}`, { context: n.connection });
    if (n?.kind === 'file') return vscode.commands.executeCommand('datatools.previewDataFile', n.path);
  }));
  sub(vscode.commands.registerCommand('datatools.explorer.describe', (n: Rel) => run('describe_table', { table_name: `${n.schema}.${n.name}`, connection: n.connection }, `Describing ${n.schema}.${n.name}`)));
  sub(vscode.commands.registerCommand('datatools.explorer.copyName', async (n: Node) => {
    const text = n.kind === 'relation' ? qualified(n) : n.kind === 'column' ? n.name : n.kind === 'file' || n.kind === 'dir' ? n.path : n.kind === 'connection' || n.kind === 'schema' ? n.name : '';
    await vscode.env.clipboard.writeText(text);
    return text;
  }));
  sub(vscode.commands.registerCommand('datatools.explorer.newQuery', async (n: Rel) => {
    const doc = await vscode.workspace.openTextDocument({ language: 'sql', content: `-- connection: ${n.connection}\nSELECT *\nFROM ${qualified(n)}\nLIMIT 100;\n` });
    await vscode.window.showTextDocument(doc);
  }));
  sub(vscode.commands.registerCommand('datatools.explorer.askData', async (n: Node) => {
    const target = n.kind === 'relation' ? `table ${n.schema}.${n.name}${n.connection !== 'sample' ? ` (connection ${n.connection})` : ''}` : n.kind === 'file' ? n.path : '';
    await vscode.commands.executeCommand('workbench.action.chat.open', { query: `@data /explore ${target}` });
  }));
  sub(vscode.commands.registerCommand('datatools.explorer.activate', (n: Extract<Node, { kind: 'connection' }>) => vscode.commands.executeCommand('datatools.selectConnection', n.name)));
  sub(vscode.commands.registerCommand('datatools.openRun', async (e: AuditEntry) => {
    const r = results.get(e.id);
    if (r) return panel.show(r);
    const doc = await vscode.workspace.openTextDocument({ language: 'json', content: JSON.stringify(e, null, 2) });
    await vscode.window.showTextDocument(doc, { preview: true });
  }));
}
