import * as vscode from 'vscode';
import * as path from 'node:path';
import { ToolHost } from '../core/host';
import { ROLES, ROLE_LABELS_TEXT, roleDetail, type Role } from './roleText';
import { E2B_SECRET, JUPYTER_SECRET, SECTION, pythonExtensionApi, readConfig } from './settings';
import { LmToolRegistry } from './lmTools';
import { registerParticipant } from './participant';
import { ResultStore } from './results';
import { ResultPanel } from './resultPanel';
import { registerCommands } from './commands';
import { registerConnectionCommands } from './connections';
import { DataExplorer, RunsView } from './explorer';
import { DataGridEditor, GRID_EDITOR, GRID_EDITOR_TEXT } from './dataEditor';

declare const DATATOOLS_VERSION: string;

export interface DataToolsApi {
  host: ToolHost;
  results: ResultStore;
  panel: ResultPanel;
  explorer: DataExplorer;
  /** How long activate() took, for the bench. */
  activationMs: number;
}

let host: ToolHost | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<DataToolsApi> {
  const started = performance.now();
  const sub = (...d: vscode.Disposable[]) => context.subscriptions.push(...d);
  const output = vscode.window.createOutputChannel('Data Tools', { log: true });
  sub(output);
  const config = await readConfig(context.secrets);
  host = new ToolHost(config, { trusted: vscode.workspace.isTrusted });
  const h = host;
  const results = new ResultStore(50);

  const tools = new LmToolRegistry(h, (tool, _input, r) => results.add(tool, r, undefined, undefined, true));
  sub(tools);
  tools.refresh();
  const explorer = new DataExplorer(h);

  const status = vscode.window.createStatusBarItem('datatools.status', vscode.StatusBarAlignment.Left, 50);
  status.name = 'Data Tools';
  status.command = 'datatools.selectRole';
  const updateStatus = () => {
    const c = h.config;
    const conn = c.activeConnection ?? (c.databaseUrl ? 'default' : 'sample');
    status.text = `$(database) ${ROLE_LABELS_TEXT[c.role]} · ${c.executor === 'e2b' ? 'E2B' : c.executor === 'jupyter' ? 'Jupyter' : 'local'} Python · ${conn}`;
    status.tooltip = `Data Tools: role ${c.role}, Python ${c.executor}, connection ${conn}${h.isTrusted ? '' : ' (untrusted workspace: code and writes disabled)'}. Click to switch role.`;
    status.show();
  };
  updateStatus();
  sub(status);

  let grid: DataGridEditor | undefined;
  const mcpChanged = new vscode.EventEmitter<void>();
  sub(mcpChanged);
  // what an open data file's editor depends on: only a change of these reads the open files again (a role, a key,
  // a token or a saved connection must not re-read them, nor record a read_csv run per file in the Runs view)
  const gridKey = () => JSON.stringify([h.config.allowedPaths, h.config.limits.maxRows, h.config.limits.maxFileBytes, h.isTrusted]);
  // reloads run one after another, each reading the settings when it starts: a secret stored just before a settings
  // update (Add Connection) could set off a reload that read the old list and finished last, so the Data Explorer showed
  // the new connection only after Refresh
  let queue: Promise<void> = Promise.resolve();
  const reload = () => (queue = queue.then(reloadNow, reloadNow));
  const reloadNow = async () => {
    const before = gridKey();
    const role = h.config.role;
    await h.reconfigure(await readConfig(context.secrets), vscode.workspace.isTrusted);
    tools.refresh();
    updateStatus();
    explorer.refresh();
    if (gridKey() !== before) grid?.refresh();
    if (h.config.role !== role) output.info(`Role changed from ${role} to ${h.config.role}: ${h.available().length} tools offered to agents (${h.available().map(t => t.name).join(', ')})`);
    mcpChanged.fire();
  };
  sub(vscode.workspace.onDidChangeConfiguration(e => { if (e.affectsConfiguration(SECTION)) void reload(); }));
  sub(vscode.workspace.onDidGrantWorkspaceTrust(() => void reload()));
  sub(vscode.workspace.onDidChangeWorkspaceFolders(() => void reload()));
  // a new interpreter selected in the Python extension: the next sandbox session uses it
  void pythonExtensionApi().then(api => {
    const ev = api?.environments?.onDidChangeActiveEnvironmentPath;
    if (typeof ev === 'function') sub(ev(() => void reload()));
  });
  sub(context.secrets.onDidChange(e => { if (e.key === E2B_SECRET || e.key === JUPYTER_SECRET || e.key.startsWith('datatools.connection.')) void reload(); }));

  sub(vscode.commands.registerCommand('datatools.selectRole', async () => {
    const pick = await vscode.window.showQuickPick(ROLES.map(r => ({ label: ROLE_LABELS_TEXT[r], description: `${r}${r === h.config.role ? ' · current' : ''}`,
      detail: roleDetail(r), picked: r === h.config.role, role: r })), { title: 'Data Tools: select role (what agents may do; your own commands are not limited by it)', matchOnDetail: true });
    if (pick) await vscode.workspace.getConfiguration(SECTION).update('role', pick.role as Role, vscode.ConfigurationTarget.Global);
  }));
  sub(vscode.commands.registerCommand('datatools.openAuditLog', async () => {
    try {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(h.audit.file));
      await vscode.window.showTextDocument(doc, { preview: true });
    } catch {
      void vscode.window.showInformationMessage(`No tool has been called yet; the audit log will be ${h.audit.file}.`);
    }
  }));
  sub(vscode.commands.registerCommand('datatools.setE2bApiKey', async () => {
    const key = await vscode.window.showInputBox({ title: 'E2B API key', prompt: 'Stored in VS Code SecretStorage, never in settings or logs.', password: true, ignoreFocusOut: true });
    if (key) await context.secrets.store(E2B_SECRET, key.trim());
  }));
  sub(vscode.commands.registerCommand('datatools.clearE2bApiKey', async () => {
    if (!(await context.secrets.get(E2B_SECRET))) {
      void vscode.window.showInformationMessage(`No E2B API key was set, so there was nothing to remove${process.env.E2B_API_KEY ? ' (the E2B_API_KEY environment variable of VS Code still applies)' : ''}.`);
      return false;
    }
    await context.secrets.delete(E2B_SECRET);
    void vscode.window.showInformationMessage(`E2B API key removed; ${process.env.E2B_API_KEY ? 'the E2B_API_KEY environment variable of VS Code still applies.' : 'Python runs in the local sandbox.'}`);
    return true;
  }));
  sub(vscode.commands.registerCommand('datatools.setJupyterToken', async () => {
    const url = h.config.jupyterUrl;
    const token = await vscode.window.showInputBox({ title: 'Jupyter server token', prompt: `Token of ${url ? url : 'the Jupyter server in the datatools.jupyter.url setting'}. Stored in VS Code SecretStorage, never in settings or logs.`, password: true, ignoreFocusOut: true });
    if (token) await context.secrets.store(JUPYTER_SECRET, token.trim());
  }));
  sub(vscode.commands.registerCommand('datatools.clearJupyterToken', async () => {
    if (!(await context.secrets.get(JUPYTER_SECRET))) {
      void vscode.window.showInformationMessage('No Jupyter token was set, so there was nothing to remove.');
      return false;
    }
    await context.secrets.delete(JUPYTER_SECRET);
    void vscode.window.showInformationMessage('Jupyter token removed.');
    return true;
  }));

  // The same catalog as an MCP server, offered to agent mode and any MCP-aware feature.
  sub(vscode.lm.registerMcpServerDefinitionProvider('datatools.mcp', {
    onDidChangeMcpServerDefinitions: mcpChanged.event,
    provideMcpServerDefinitions: () => {
      const c = h.config;
      return [new vscode.McpStdioServerDefinition('Data Tools', process.execPath, [context.asAbsolutePath(path.join('dist', 'mcp.js'))], {
        ELECTRON_RUN_AS_NODE: '1',
        DATATOOLS_ROLE: c.role,
        DATATOOLS_ALLOWED_PATHS: c.allowedPaths.join(path.delimiter),
        DATATOOLS_AUDIT_LOG: c.auditLogPath,
        DATATOOLS_EXECUTOR: c.executor,
        ...(c.jupyterUrl ? { DATATOOLS_JUPYTER_URL: c.jupyterUrl } : {}),
        ...(c.jupyterKernel ? { DATATOOLS_JUPYTER_KERNEL: c.jupyterKernel } : {}),
        ...(c.python ? { DATATOOLS_PYTHON: c.python, DATATOOLS_PYTHON_SOURCE: c.pythonSource ?? 'VS Code' } : {}),
        ...(c.workspaceDir ? { DATATOOLS_WORKSPACE: c.workspaceDir } : {}),
      }, DATATOOLS_VERSION)];
    },
    resolveMcpServerDefinition: async (def) => {
      // the secret is only handed to the server process when it starts, never stored in its definition
      const key = await context.secrets.get(E2B_SECRET);
      const jupyterToken = h.config.jupyterToken;
      if (def instanceof vscode.McpStdioServerDefinition) {
        const c = h.config;
        def.env = { ...def.env, ...(key ? { E2B_API_KEY: key } : {}), ...(jupyterToken ? { DATATOOLS_JUPYTER_TOKEN: jupyterToken } : {}), ...(c.connections.length ? { DATATOOLS_CONNECTIONS: JSON.stringify(c.connections) } : {}),
          ...(c.activeConnection ? { DATATOOLS_CONNECTION: c.activeConnection } : {}), ...(c.databaseUrl ? { DATABASE_URL: c.databaseUrl } : {}) };
      }
      return def;
    },
  }));

  const panel = new ResultPanel(context, h);
  sub(panel);
  const runs = new RunsView(h, results);
  sub(vscode.window.createTreeView('datatools.explorer', { treeDataProvider: explorer, showCollapseAll: true }));
  sub(vscode.window.createTreeView('datatools.runs', { treeDataProvider: runs }));
  results.onAdd(() => runs.refresh());
  registerCommands(context, h, results, panel, output, explorer);
  // data files open in the grid as a read-only editor
  grid = new DataGridEditor(h, results, panel, context.extensionUri);
  const editorOptions = { webviewOptions: { retainContextWhenHidden: true }, supportsMultipleEditorsPerDocument: true };
  sub(vscode.window.registerCustomEditorProvider(GRID_EDITOR, grid, editorOptions));
  sub(vscode.window.registerCustomEditorProvider(GRID_EDITOR_TEXT, grid, editorOptions));
  registerConnectionCommands(context, h, reload, output);
  registerParticipant(context, h, results, tools);
  output.info(`Data Tools ${DATATOOLS_VERSION} active: role ${config.role}, ${h.available().length} tools, audit log ${config.auditLogPath}`);
  return { host: h, results, panel, explorer, activationMs: performance.now() - started };
}

export async function deactivate(): Promise<void> {
  await host?.dispose();
  host = undefined;
}
