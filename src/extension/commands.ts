import * as vscode from 'vscode';
import * as path from 'node:path';
import { loadModule, parseSync } from 'libpg-query';
import type { CallOptions, CallResult, ToolHost } from '../core/host';
import { restartExecutors } from '../core/tools/exec';
import type { Preview, QueryOrder, ResultStore, StoredResult } from './results';
import { quoteIdent, sortedQuery } from '../core/db/service';
import type { ResultPanel } from './resultPanel';
import { qualified, type DataExplorer, type Node } from './explorer';
import type { AuditEntry } from '../core/audit';
import { QueryHistory, type QueryRun } from './history';
import { SqlCompletion, SqlDiagnostics } from './sqlAssist';
import { CellLenses, cellsOf } from './cells';
import { ROLE_LABELS, rolesWith, type Capability } from '../core/roles';
import { GRID_EDITOR, GRID_EDITOR_TEXT } from './dataEditor';

const DOING: Record<Capability, string> = {
  'code.execute': 'run Python code', 'code.install': 'install Python packages', 'code.script': 'run Python files',
  'env.read': 'describe the Python environment', 'db.read': 'query databases', 'files.read': 'read data files', 'files.write': 'write files',
};

/** A refusal told to the person who clicked (the tool's text is written for a model): what is not allowed, why,
 *  and buttons that change it. The person's own commands are not limited by the role (host.refusal with caller
 *  'command'), so what remains is workspace trust or a request too large. */
export async function explainRefusal(host: ToolHost, tool: string, r?: CallResult): Promise<void> {
  const t = host.find(tool);
  if (!t) { void vscode.window.showErrorMessage(`Data Tools has no "${tool}" action.`); return; }
  const doing = DOING[t.capability as Capability] ?? `use ${tool}`;
  const why = host.refusal(tool, 'command');
  if (why && !host.isTrusted) {
    const c = await vscode.window.showWarningMessage(`This workspace is not trusted, so Data Tools does not ${doing} here. Trust the workspace to do it.`, 'Manage Workspace Trust');
    if (c) await vscode.commands.executeCommand('workbench.trust.manage');
    return;
  }
  if (why) {
    const roles = rolesWith(t.capability as Capability).map(x => ROLE_LABELS[x]);
    const c = await vscode.window.showWarningMessage(`Your Data Tools role, ${ROLE_LABELS[host.config.role]}, does not ${doing}.${roles.length ? ` Switch to ${roles.join(' or ')} to do it.` : ''}`,
      'Switch Role', 'Open Settings');
    if (c === 'Switch Role') await vscode.commands.executeCommand('datatools.selectRole');
    else if (c === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'datatools.role');
    return;
  }
  // not the role nor trust: the request itself was over a limit (its size); say which setting governs it
  const c = await vscode.window.showWarningMessage(`Data Tools did not ${doing}: the request is larger than the configured limits allow. Make it smaller, or raise the limits in the settings.`, 'Open Settings');
  if (c) await vscode.commands.executeCommand('workbench.action.openSettings', 'datatools.limits');
  void r;
}

/** The connections a query can name: the sample, DATABASE_URL's "default" and the saved ones. */
export const knownConnections = (host: ToolHost) => ['sample', ...(host.config.databaseUrl ? ['default'] : []), ...host.config.connections.map(c => c.name)];

/** A file names a connection that is not set up: tell the person, with buttons that fix it. False: do not run. */
export async function checkNamedConnection(host: ToolHost, named: string | undefined): Promise<boolean> {
  if (!named || knownConnections(host).includes(named)) return true;
  const active = activeConnection(host);
  const c = await vscode.window.showWarningMessage(`This file's "-- connection: ${named}" line names a connection that is not set up. Add it, or run on the active connection (${active}) instead.`,
    'Add Connection', `Run on ${active}`);
  if (c === 'Add Connection') await vscode.commands.executeCommand('datatools.addConnection');
  return c === `Run on ${active}`;
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
export async function statementAt(text: string, offset: number): Promise<{ sql: string; index: number; count: number; start: number } | undefined> {
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
  const raw = buf.subarray(ranges[index].start, ranges[index].end).toString('utf8');
  const sql = raw.trim();
  // the character offset in the text where the trimmed statement starts
  const start = buf.subarray(0, ranges[index].start).toString('utf8').length + (raw.length - raw.trimStart().length);
  return sql ? { sql, index, count: stmts.length, start } : undefined;
}

/** Every statement of a SQL text, in order, with its character offset (PostgreSQL's own parser splits them);
 *  undefined when the text does not parse (the server then says why on the first run). */
export async function statementsOf(text: string): Promise<{ sql: string; start: number }[] | undefined> {
  let stmts: { stmt_location?: number; stmt_len?: number }[];
  try {
    await loadModule();
    stmts = (parseSync(text) as { stmts?: { stmt_location?: number; stmt_len?: number }[] }).stmts ?? [];
  } catch { return undefined; }
  const buf = Buffer.from(text, 'utf8');
  return stmts.map(st => {
    const b = st.stmt_location ?? 0;
    const raw = buf.subarray(b, st.stmt_len ? b + st.stmt_len : buf.length).toString('utf8');
    const lead = raw.length - raw.trimStart().length;
    return { sql: raw.trim(), start: buf.subarray(0, b).toString('utf8').length + lead };
  }).map(x => {
    // comments before a statement belong to its text: drop the "-- connection:" line, keep where the SQL starts
    const m = /^(\s*--\s*connection:.*(\r?\n|$)\s*)/i.exec(x.sql);
    return m ? { sql: x.sql.slice(m[1].length), start: x.start + m[1].length } : x;
  }).filter(x => x.sql.trim());
}

/** Like "Reopen Editor With…": the file's tab in the active group is replaced by one of the other editor (a tab with
 *  unsaved changes stays). */
async function reopenWith(uri: vscode.Uri, viewType: string): Promise<void> {
  const group = vscode.window.tabGroups.activeTabGroup;
  const old = group.tabs.filter(t => !t.isDirty && (t.input instanceof vscode.TabInputText || t.input instanceof vscode.TabInputCustom)
    && (t.input as { uri: vscode.Uri }).uri.toString() === uri.toString());
  await vscode.commands.executeCommand('vscode.openWith', uri, viewType, group.viewColumn);
  const now = vscode.window.tabGroups.activeTabGroup.activeTab;
  const stale = old.filter(t => t !== now && t.isActive === false);
  if (stale.length) await vscode.window.tabGroups.close(stale, true);
}

/** The file of the active custom editor tab (the data grid), if any. */
function activeCustomEditorUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputCustom ? input.uri : undefined;
}

export const activeConnection = (host: ToolHost) => host.config.activeConnection ?? (host.config.databaseUrl ? 'default' : 'sample');

const DATA_FILE = /\.(csv|tsv|txt|jsonl|ndjson|parquet|arrow|feather|ipc|arrows)$/i;

/** The command-palette front end: each command is one catalog tool call, shown in the result view. */
/** Rows a streamed query's result view opens with (the first batch of rows). */
const STREAM_FIRST = 1_000;

export function registerCommands(context: vscode.ExtensionContext, host: ToolHost, results: ResultStore, panel: ResultPanel, output: vscode.LogOutputChannel, explorer: DataExplorer): void {
  const sub = (d: vscode.Disposable) => context.subscriptions.push(d);
  const python = vscode.window.createOutputChannel('Data Tools: Python');
  sub(python);

  /** Runs a tool with a cancellable progress notification, then opens its result (or shows why it failed). */
  const run = async (tool: string, input: unknown, title: string, o: { stream?: boolean; context?: string; preview?: Preview; sorted?: { base: unknown; title: string; orderBy: QueryOrder } } = {}): Promise<CallResult | undefined> => {
    const started = Date.now();
    // a query's rows are streamed into the result store: the view opens with its first rows while the rest arrive
    // (a table preview holds its first rows only: nothing to stream)
    let streamView: StoredResult | undefined;
    const onRows: CallOptions['onRows'] = tool === 'execute_query' && !o.preview ? e => {
      if (streamView) { panel.loading(streamView, e.rows); return; }
      if (e.rows < STREAM_FIRST) return; // a small result is shown whole when the call ends
      const now = Date.now();
      streamView = { id: `stream-${e.resultId}`, tool, time: now, ...(o.context ? { context: o.context } : {}), stream: { loading: true },
        result: { text: 'Loading the rows…', auditId: `stream-${e.resultId}`, outcome: 'ok', durationMs: now - started,
          parts: [{ kind: 'table', columns: e.columns, rows: [], truncated: false, resultId: e.resultId, storedRows: e.rows }] } };
      const shown = streamView;
      // the first rows go on screen before more are read (the extension host shares its thread with the reading of
      // rows): the query waits until the view painted them, at most a second
      return new Promise<void>(resolve => {
        const timer = setTimeout(done, 1000);
        const sub = panel.onDidPaint(p => { if (p.id === shown.id) done(); });
        function done() { clearTimeout(timer); sub.dispose(); resolve(); }
        void panel.show(shown).catch(done);
      });
    } : undefined;
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (_p, token) => {
      const ac = new AbortController();
      const s = token.onCancellationRequested(() => ac.abort());
      if (o.stream) { python.show(true); python.appendLine(`── ${title} ──`); }
      try {
        return await host.call(tool, input, { caller: 'command', signal: ac.signal, onRows,
          onProgress: o.stream ? e => { if (e.kind !== 'status') python.append(e.text); } : undefined });
      } finally { s.dispose(); }
    });
    const stored = results.add(tool, r, o.context, o.preview);
    stored.rerun = () => run(tool, input, title, o);
    const cut = r.parts.find(p => p.kind === 'table');
    if (tool === 'execute_query' && !o.preview && cut?.kind === 'table' && cut.truncated && !r.isError) {
      // a sort of the rows held orders those only: the view offers the whole query sorted on the server, run again
      // from the query as the person wrote it (and back to it unsorted)
      const base = o.sorted?.base ?? input;
      const baseTitle = o.sorted?.title ?? title;
      stored.querySort = { orderBy: o.sorted?.orderBy, run: async orderBy => {
        if (!orderBy) return run(tool, base, baseTitle, { ...o, sorted: undefined });
        const b = base as { query: string };
        const query = await sortedQuery(b.query, orderBy.index + 1, orderBy.desc);
        if (!query) { void vscode.window.showErrorMessage('Only a SELECT can be sorted on the server; add ORDER BY to the query instead.'); return; }
        return run(tool, { ...b, query }, `${baseTitle} sorted by ${orderBy.column}${orderBy.desc ? ' descending' : ''} on the server`, { ...o, sorted: { base, title: baseTitle, orderBy } });
      } };
    }
    const streamedId = streamView?.result.parts[0]?.kind === 'table' ? streamView.result.parts[0].resultId : undefined;
    if (streamView && streamedId && (r.isError || r.outcome === 'cancelled') && host.results.has(streamedId)) {
      // stopped after rows arrived (a timeout, the byte budget, an error, a cancel): the rows received stay on screen,
      // labelled, with what stopped them
      const info = await host.results.info(streamedId);
      const n = info.rows.toLocaleString('en-US');
      const why = r.outcome === 'cancelled' ? 'Cancelled' : r.text.split('\n')[0];
      stored.stream = { loading: false, failed: why };
      stored.result = { ...r, parts: [
        { kind: 'error', name: r.outcome === 'cancelled' ? `Cancelled after ${n} rows` : `The query failed after ${n} rows`, value: why, traceback: '' },
        { kind: 'table', title: `The ${n} rows received before it stopped (not the whole result)`, columns: info.columns, rows: [], truncated: true, resultId: streamedId, storedRows: info.rows },
      ] };
      await panel.show(stored);
      if (r.isError) output.warn(`${tool}: ${r.text.split('\n')[0]}`);
      return r;
    }
    if (r.outcome === 'cancelled') {
      // the person stopped it: not a database error, nothing to open
      void vscode.window.showInformationMessage(`Cancelled: ${title}.`);
      return r;
    }
    if (r.outcome === 'refused') { void explainRefusal(host, tool, r); return r; }
    if (r.outcome === 'invalid') {
      void vscode.window.showErrorMessage(r.text.split('\n')[0]);
      return r;
    }
    await panel.show(stored);
    if (r.isError) output.warn(`${tool}: ${r.text.split('\n')[0]}`);
    return r;
  };

  const history = new QueryHistory(context.workspaceState, id => !!results.get(id));
  sub(vscode.window.createTreeView('datatools.history', { treeDataProvider: history }));
  results.onAdd(() => history.refresh());
  const diagnostics = new SqlDiagnostics(output);
  sub(diagnostics);
  const fileConnection = (doc: vscode.TextDocument) => connectionOf(doc.getText()) ?? activeConnection(host);
  const completion = new SqlCompletion(host, fileConnection);
  sub(vscode.languages.registerCompletionItemProvider({ language: 'sql' }, completion, '.'));

  /** One query on a connection (named by the file, or the active one), kept in the history; errors with a position
   *  become a squiggle in the document at `base`. */
  /** A table preview: the table as a query result (up to the rows a query may return, max_rows), kept whole in the
   *  result store so the grid pages, filters, describes and exports all of it, with the table's real row count
   *  (count: true). A table bigger than that is said to be cut; a sort then runs again with ORDER BY on the server and
   *  a filter can run there too (`search`: a contains-match on any column, ignoring case), so they cover the whole
   *  table. */
  const runPreview = (p: Preview, title: string) => {
    const where = p.search ? ` WHERE ${p.search.columns.map(c => `${quoteIdent(c)}::text ILIKE $1`).join(' OR ')}` : '';
    const order = p.orderBy ? ` ORDER BY ${quoteIdent(p.orderBy.column)}${p.orderBy.desc ? ' DESC' : ''} NULLS LAST` : '';
    const like = p.search ? [`%${p.search.text.replace(/[\\%_]/g, m => `\\${m}`)}%`] : undefined;
    return run('execute_query', { query: `SELECT * FROM ${p.relation}${where}${order}`, ...(like ? { params: like } : {}), count: true, connection: p.connection }, title,
      { context: p.connection, preview: { ...p, rows: host.config.limits.maxRows } });
  };
  panel.onServerSort = async (r, orderBy) => {
    if (!r.preview) return;
    await runPreview({ ...r.preview, orderBy }, orderBy ? `Sorting ${r.preview.relation} by ${orderBy.column} on the server` : `Previewing ${r.preview.relation}`);
  };
  panel.onServerFilter = async (r, search) => {
    if (!r.preview) return;
    await runPreview({ ...r.preview, search }, search ? `Filtering ${r.preview.relation} on the server` : `Previewing ${r.preview.relation}`);
  };

  const runSql = async (sql: string, named: string | undefined, title: string, at?: { doc: vscode.TextDocument; base: number }) => {
    const connection = named ?? activeConnection(host);
    const r = await run('execute_query', { query: sql, ...(named ? { connection: named } : {}) }, title, { context: connection });
    if (r && r.outcome !== 'refused') {
      await history.add({ id: r.auditId, sql, connection, time: new Date().toISOString(), outcome: r.outcome, rows: r.metrics?.rows, durationMs: r.durationMs });
    }
    if (at) diagnostics.report(at.doc, at.base, r);
    return r;
  };

  sub(vscode.commands.registerCommand('datatools.runQuery', async () => {
    const ed = vscode.window.activeTextEditor;
    if (!ed) { void vscode.window.showInformationMessage('Open a .sql file or select a query first.'); return; }
    const doc = ed.document;
    const sel = ed.selection;
    const text = doc.getText();
    // the "-- connection:" line says where to run, it is not part of the query (nor of the result's title)
    const region = sel.isEmpty ? text : doc.getText(sel);
    const query = region.replace(/^\s*--\s*connection:.*$/im, '').trim().replace(/;\s*$/, '');
    if (!query) { void vscode.window.showInformationMessage('The editor is empty: write a query first.'); return; }
    // a "-- connection: X" line at the top of the file (New Query writes it) names the connection; else the active one
    const named = connectionOf(text);
    if (!(await checkNamedConnection(host, named))) return;
    const useNamed = named && knownConnections(host).includes(named) ? named : undefined;
    const connection = useNamed ?? activeConnection(host);
    // several statements and no selection: the one under the cursor, as in the SQL editors people know
    const at = sel.isEmpty ? await statementAt(text, doc.offsetAt(sel.active)) : undefined;
    let sql = query;
    let base = (sel.isEmpty ? 0 : doc.offsetAt(sel.start)) + region.indexOf(query);
    if (at) {
      const m = /^(\s*--\s*connection:.*(\r?\n|$)\s*)/i.exec(at.sql);
      sql = (m ? at.sql.slice(m[1].length) : at.sql).replace(/;\s*$/, '');
      base = at.start + (m ? m[1].length : 0);
    }
    const what = at ? `statement ${at.index + 1} of ${at.count}` : 'query';
    return runSql(sql, useNamed, `Running ${what} on ${connection}`, { doc, base });
  }));

  sub(vscode.commands.registerCommand('datatools.runAllStatements', async () => {
    const ed = vscode.window.activeTextEditor;
    if (!ed || ed.document.languageId !== 'sql') { void vscode.window.showInformationMessage('Open a .sql file first.'); return; }
    const doc = ed.document;
    const text = doc.getText();
    const named = connectionOf(text);
    if (!(await checkNamedConnection(host, named))) return;
    const useNamed = named && knownConnections(host).includes(named) ? named : undefined;
    const connection = useNamed ?? activeConnection(host);
    const stmts = await statementsOf(text);
    if (!stmts) {
      // it does not parse: run it whole, so the error (and its squiggle) says where
      return runSql(text.replace(/^\s*--\s*connection:.*$/im, '').trim(), useNamed, `Running the file on ${connection}`, { doc, base: text.indexOf(text.replace(/^\s*--\s*connection:.*$/im, '').trim()) });
    }
    if (!stmts.length) { void vscode.window.showInformationMessage('The file has no statements to run.'); return; }
    const done: CallResult[] = [];
    for (const [i, st] of stmts.entries()) {
      const r = await runSql(st.sql.replace(/;\s*$/, ''), useNamed, `Running statement ${i + 1} of ${stmts.length} on ${connection}`, { doc, base: st.start });
      if (!r) return;
      done.push(r);
      if (r.outcome === 'cancelled') {
        void vscode.window.showInformationMessage(`Stopped at statement ${i + 1} of ${stmts.length} (cancelled)${stmts.length - i - 1 ? `; ${stmts.length - i - 1} not run` : ''}.`);
        return done;
      }
      if (r.isError) {
        const line = doc.positionAt(st.start).line + 1;
        const left = stmts.length - i - 1;
        const rest = left === 0 ? '' : left === 1 ? ', so the last one was not run' : `, so the other ${left} were not run`;
        void vscode.window.showErrorMessage(`Statement ${i + 1} of ${stmts.length} (line ${line}) failed${rest}: ${r.text.split('\n')[0]}`);
        return done;
      }
    }
    void vscode.window.showInformationMessage(`Ran all ${stmts.length} statements on ${connection}.`);
    return done;
  }));

  // Query History
  sub(vscode.commands.registerCommand('datatools.history.open', async (q: QueryRun) => {
    const r = results.get(q.id);
    if (r) return panel.show(r);
    const c = await vscode.window.showInformationMessage('That result is no longer in memory. Run the query again?', 'Re-run', 'Open in Editor');
    if (c === 'Re-run') return vscode.commands.executeCommand('datatools.history.rerun', q);
    if (c === 'Open in Editor') return vscode.commands.executeCommand('datatools.history.openInEditor', q);
  }));
  sub(vscode.commands.registerCommand('datatools.history.rerun', (q: QueryRun) =>
    runSql(q.sql, knownConnections(host).includes(q.connection) ? q.connection : undefined, `Running the query again on ${knownConnections(host).includes(q.connection) ? q.connection : activeConnection(host)}`)));
  sub(vscode.commands.registerCommand('datatools.history.copy', async (q: QueryRun) => { await vscode.env.clipboard.writeText(q.sql); return q.sql; }));
  sub(vscode.commands.registerCommand('datatools.history.openInEditor', async (q: QueryRun) => {
    const doc = await vscode.workspace.openTextDocument({ language: 'sql', content: `-- connection: ${q.connection}\n${q.sql};\n` });
    await vscode.window.showTextDocument(doc);
  }));
  sub(vscode.commands.registerCommand('datatools.history.clear', () => history.clear()));

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

  // a data file in the grid editor (CSV/TSV/JSON Lines are text files by default; Parquet/Arrow open in the grid)
  sub(vscode.commands.registerCommand('datatools.openInGrid', async (uri?: vscode.Uri) => {
    const target = uri ?? vscode.window.activeTextEditor?.document.uri;
    if (!target || !DATA_FILE.test(target.fsPath)) { void vscode.window.showInformationMessage('Open or select a data file (CSV, TSV, JSON Lines, Parquet, Arrow) first.'); return; }
    const doc = vscode.workspace.textDocuments.find(d => d.uri.toString() === target.toString());
    if (doc?.isDirty) await doc.save();
    await reopenWith(target, /\.(parquet|arrow|feather|ipc|arrows)$/i.test(target.fsPath) ? GRID_EDITOR : GRID_EDITOR_TEXT);
  }));
  sub(vscode.commands.registerCommand('datatools.openAsText', async (uri?: vscode.Uri) => {
    const target = uri ?? activeCustomEditorUri();
    if (target) await reopenWith(target, 'default');
  }));
  /** From a data file's editor: the person allows the file's folder (for agents too, as the page says). */
  sub(vscode.commands.registerCommand('datatools.allowFolder', async (dir: string) => {
    if (typeof dir !== 'string' || !path.isAbsolute(dir)) return;
    const c = vscode.workspace.getConfiguration('datatools');
    const info = c.inspect<string[]>('allowedPaths');
    // where the setting is set now (a workspace's value wins over the user's)
    const inWorkspace = info?.workspaceValue !== undefined;
    const now = (inWorkspace ? info?.workspaceValue : info?.globalValue) ?? info?.defaultValue ?? [];
    if (!now.includes(dir)) await c.update('allowedPaths', [...now, dir], inWorkspace ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global);
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

  // Jupyter's habits in .py files: "# %%" cells with CodeLenses, Shift+Enter on the current line
  const lenses = new CellLenses();
  sub(vscode.languages.registerCodeLensProvider({ language: 'python' }, lenses));
  sub(vscode.workspace.onDidChangeConfiguration(e => { if (e.affectsConfiguration('datatools.python.cellLenses')) lenses.refresh(); }));
  const cellsIn = async (uri?: vscode.Uri) => {
    const doc = uri ? await vscode.workspace.openTextDocument(uri) : vscode.window.activeTextEditor?.document;
    return doc ? cellsOf(doc.getText()) : [];
  };
  const cellAtCursor = (cells: ReturnType<typeof cellsOf>) => {
    const line = vscode.window.activeTextEditor?.selection.active.line ?? 0;
    return cells.find(c => line >= c.start && line <= c.end)?.index;
  };
  sub(vscode.commands.registerCommand('datatools.runCell', async (uri?: vscode.Uri, index?: number) => {
    const cells = await cellsIn(uri);
    const c = cells[index ?? cellAtCursor(cells) ?? -1];
    if (!c) { void vscode.window.showInformationMessage('Put the cursor in a "# %%" cell of a Python file first.'); return; }
    if (!c.code.trim()) { void vscode.window.showInformationMessage(`Cell ${c.index + 1} is empty.`); return; }
    return run('execute_code', { code: c.code }, `Running cell ${c.index + 1} in the sandbox`, { stream: true });
  }));
  sub(vscode.commands.registerCommand('datatools.runCellsAbove', async (uri?: vscode.Uri, index?: number) => {
    const cells = await cellsIn(uri);
    const upTo = index ?? cellAtCursor(cells) ?? 0;
    const code = cells.slice(0, upTo).map(c => c.code).join('\n');
    if (!code.trim()) { void vscode.window.showInformationMessage('There are no cells above this one to run.'); return; }
    return run('execute_code', { code }, `Running ${upTo === 1 ? 'the cell' : `the ${upTo} cells`} above in the sandbox`, { stream: true });
  }));
  sub(vscode.commands.registerCommand('datatools.runLineOrSelection', async () => {
    const ed = vscode.window.activeTextEditor;
    if (!ed) return;
    if (!ed.selection.isEmpty) return vscode.commands.executeCommand('datatools.runSelectionInSandbox');
    const line = ed.document.lineAt(ed.selection.active.line);
    // as in Jupyter's interactive window: the cursor moves on to the next line
    const next = Math.min(line.lineNumber + 1, ed.document.lineCount - 1);
    ed.selection = new vscode.Selection(next, 0, next, 0);
    if (!line.text.trim()) return;
    return run('execute_code', { code: line.text.trim() }, `Running line ${line.lineNumber + 1} in the sandbox`, { stream: true });
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
  sub(vscode.commands.registerCommand('datatools.explorer.refresh', (n?: Node) => { completion.clear(); explorer.refresh(n); }));
  sub(vscode.commands.registerCommand('datatools.explorer.preview', async (n: Node) => {
    if (n?.kind === 'relation') return runPreview({ connection: n.connection, relation: qualified(n), rows: host.config.limits.maxRows }, `Previewing ${n.schema}.${n.name}`);
    if (n?.kind === 'file') return vscode.commands.executeCommand('datatools.previewDataFile', n.path);
  }));
  sub(vscode.commands.registerCommand('datatools.explorer.createRoot', async (n: Extract<Node, { kind: 'dir' }>) => {
    try {
      await vscode.workspace.fs.createDirectory(vscode.Uri.file(n.path));
    } catch (e) {
      void vscode.window.showErrorMessage(`Could not create ${n.path}: ${(e as Error).message}`);
      return;
    }
    explorer.refresh();
  }));
  const setAllFiles = async (on: boolean) => {
    explorer.allFiles = on;
    await vscode.commands.executeCommand('setContext', 'datatools.explorer.allFiles', on);
    explorer.refresh();
  };
  sub(vscode.commands.registerCommand('datatools.explorer.showAllFiles', () => setAllFiles(true)));
  sub(vscode.commands.registerCommand('datatools.explorer.showDataFilesOnly', () => setAllFiles(false)));
  // the walkthrough's steps (Get Started with Data Tools)
  sub(vscode.commands.registerCommand('datatools.walkthrough.previewSample', () =>
    runPreview({ connection: 'sample', relation: 'public.users', rows: host.config.limits.maxRows }, 'Previewing public.users')));
  sub(vscode.commands.registerCommand('datatools.walkthrough.sampleQuery', async () => {
    const doc = await vscode.workspace.openTextDocument({ language: 'sql', content: '-- connection: sample\n-- Ctrl+Enter runs the statement under the cursor\nSELECT country, plan, count(*) AS users\nFROM users\nGROUP BY country, plan\nORDER BY users DESC;\n' });
    const ed = await vscode.window.showTextDocument(doc);
    ed.selection = new vscode.Selection(2, 0, 2, 0);
  }));
  sub(vscode.commands.registerCommand('datatools.walkthrough.askData', () =>
    vscode.commands.executeCommand('workbench.action.chat.open', { query: '@data /schema What is in the sample database?' })));
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
