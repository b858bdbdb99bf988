import * as vscode from 'vscode';

/** One Run Query the person made: what ran, where, when and how it went. */
export interface QueryRun {
  /** The audit id of the call, which is also the id of its result while that is in memory. */
  id: string;
  sql: string;
  connection: string;
  /** ISO time the run finished. */
  time: string;
  outcome: string;
  rows?: number;
  durationMs: number;
}

const KEY = 'datatools.queryHistory';

/** Every Run Query, newest first, kept in the workspace's state (bounded) so it survives a reload. */
export class QueryHistory implements vscode.TreeDataProvider<QueryRun> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly state: vscode.Memento, private readonly hasResult: (id: string) => boolean, readonly max = 200) {}

  list(): QueryRun[] { return this.state.get<QueryRun[]>(KEY, []); }

  async add(run: QueryRun): Promise<void> {
    await this.state.update(KEY, [run, ...this.list()].slice(0, this.max));
    this.changed.fire();
  }

  async clear(): Promise<void> {
    await this.state.update(KEY, []);
    this.changed.fire();
  }

  refresh(): void { this.changed.fire(); }

  getChildren(r?: QueryRun): QueryRun[] { return r ? [] : this.list(); }

  getTreeItem(r: QueryRun): vscode.TreeItem {
    const oneLine = r.sql.replace(/\s+/g, ' ').trim();
    const t = new vscode.TreeItem(oneLine.length > 80 ? `${oneLine.slice(0, 79)}…` : oneLine, vscode.TreeItemCollapsibleState.None);
    const when = new Date(r.time);
    const hhmm = `${String(when.getHours()).padStart(2, '0')}:${String(when.getMinutes()).padStart(2, '0')}:${String(when.getSeconds()).padStart(2, '0')}`;
    const rows = r.rows === undefined ? '' : ` · ${r.rows.toLocaleString('en-US')} row${r.rows === 1 ? '' : 's'}`;
    t.description = `${r.connection}${rows} · ${r.durationMs} ms · ${hhmm}`;
    t.iconPath = new vscode.ThemeIcon(r.outcome === 'ok' ? 'pass' : r.outcome === 'cancelled' ? 'debug-stop' : 'error');
    const md = new vscode.MarkdownString();
    md.appendText(`On ${r.connection} at ${when.toLocaleString()} — ${r.outcome}${rows ? `, ${r.rows} rows` : ''}, ${r.durationMs} ms\n`);
    md.appendCodeblock(r.sql.slice(0, 2000), 'sql');
    t.tooltip = md;
    t.id = `history:${r.id}`;
    t.contextValue = this.hasResult(r.id) ? 'queryRun.result' : 'queryRun';
    t.command = { command: 'datatools.history.open', title: 'Open Result', arguments: [r] };
    return t;
  }
}
