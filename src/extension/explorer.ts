import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ToolHost } from '../core/host';
import type { AuditEntry } from '../core/audit';
import { listColumns, listRelations, listSchemas } from '../core/db/explore';
import { quoteIdent } from '../core/db/service';
import { fmtBytes } from '../core/storage/paths';
import { S3Policy } from '../core/storage/s3';
import type { TablePart } from '../core/result';
import type { ResultStore } from './results';

export type Node =
  | { kind: 'connection'; name: string; label: string; detail: string }
  | { kind: 'schema'; connection: string; name: string; count: number }
  | { kind: 'relation'; connection: string; schema: string; name: string; relKind: string; rows: number | null; comment: string | null }
  | { kind: 'column'; name: string; type: string; pk: boolean; fk: string | null; nullable: boolean; comment: string | null }
  | { kind: 'files' }
  | { kind: 'dir'; path: string; label?: string; missing?: boolean }
  | { kind: 'file'; path: string; bytes: number | null }
  | { kind: 'message'; text: string; error?: boolean };

/** What the Data view lists as data (the rest only with "Show All Files"). */
export const DATA_FILE = /\.(csv|tsv|parquet|arrow|feather|ipc|arrows|jsonl|ndjson|json)$/i;
const CHILD_LIMIT = 2000;

/** Data Explorer: connections -> schemas -> tables and views -> columns, and data files under the roots and S3.
 *  Every level loads when it is expanded; a failure shows as an error node, never as an empty tree. */
export class DataExplorer implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  /** Every file under the roots, not only data files (the view's "Show All Files"). */
  allFiles = false;

  constructor(private readonly host: ToolHost) {}

  refresh(node?: Node): void { this.changed.fire(node); }

  /** A root as a person reads it: relative to the workspace folder it is in, else the folder's name (the full path
   *  is in the tooltip). */
  static rootLabel(p: string): string {
    if (p.startsWith('s3://')) return p;
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(p));
    if (folder) {
      const rel = path.relative(folder.uri.fsPath, p);
      return rel ? (vscode.workspace.workspaceFolders!.length > 1 ? `${folder.name}/${rel}` : rel) : folder.name;
    }
    return path.basename(p.replace(/\/$/, '')) || p;
  }

  getTreeItem(n: Node): vscode.TreeItem {
    const C = vscode.TreeItemCollapsibleState;
    switch (n.kind) {
      case 'connection': {
        const active = (this.host.config.activeConnection ?? (this.host.config.databaseUrl ? 'default' : 'sample')) === n.name;
        const t = new vscode.TreeItem(n.label, C.Collapsed);
        t.description = `${n.detail}${active ? ' · active' : ''}`;
        t.iconPath = new vscode.ThemeIcon('database');
        t.contextValue = 'connection';
        t.id = `conn:${n.name}`;
        return t;
      }
      case 'schema': {
        const t = new vscode.TreeItem(n.name, C.Collapsed);
        t.description = `${n.count.toLocaleString('en-US')}`;
        t.iconPath = new vscode.ThemeIcon('symbol-namespace');
        t.contextValue = 'schema';
        t.id = `schema:${n.connection}:${n.name}`;
        return t;
      }
      case 'relation': {
        const t = new vscode.TreeItem(n.name, C.Collapsed);
        t.description = n.rows === null ? n.relKind === 'view' ? 'view' : '' : `~${n.rows.toLocaleString('en-US')} rows${n.relKind !== 'table' ? ` · ${n.relKind}` : ''}`;
        t.iconPath = new vscode.ThemeIcon(n.relKind.includes('view') ? 'eye' : 'table');
        t.tooltip = `${n.schema}.${n.name} (${n.relKind})${n.comment ? `\n${n.comment}` : ''}`;
        t.contextValue = 'relation';
        t.id = `rel:${n.connection}:${n.schema}.${n.name}`;
        return t;
      }
      case 'column': {
        const t = new vscode.TreeItem(n.name, C.None);
        t.description = `${n.type}${n.nullable ? '' : ' not null'}${n.fk ? ` → ${n.fk}` : ''}`;
        t.iconPath = new vscode.ThemeIcon(n.pk ? 'key' : n.fk ? 'references' : 'symbol-field');
        t.tooltip = `${n.name} ${n.type}${n.pk ? ' (primary key)' : ''}${n.fk ? ` references ${n.fk}` : ''}${n.comment ? `\n${n.comment}` : ''}`;
        t.contextValue = 'column';
        return t;
      }
      case 'files': {
        const t = new vscode.TreeItem('Data files', C.Collapsed);
        t.iconPath = new vscode.ThemeIcon('files');
        t.contextValue = 'files';
        t.id = 'files';
        return t;
      }
      case 'dir': {
        if (n.missing) {
          const t = new vscode.TreeItem(n.label ?? n.path, C.None);
          t.description = 'not created yet';
          t.tooltip = `${n.path} does not exist yet. Click to create it (agents read and write data files there).`;
          t.iconPath = new vscode.ThemeIcon('new-folder');
          t.contextValue = 'missingDir';
          t.id = `dir:${n.path}`;
          t.command = { command: 'datatools.explorer.createRoot', title: 'Create Folder', arguments: [n] };
          return t;
        }
        const t = new vscode.TreeItem(n.label ?? path.basename(n.path.replace(/\/$/, '')), C.Collapsed);
        t.tooltip = n.path;
        t.iconPath = new vscode.ThemeIcon(n.path.startsWith('s3://') ? 'cloud' : 'folder');
        t.contextValue = 'dir';
        t.id = `dir:${n.path}`;
        return t;
      }
      case 'file': {
        const t = new vscode.TreeItem(path.basename(n.path), C.None);
        t.description = n.bytes === null ? '' : fmtBytes(n.bytes);
        t.tooltip = n.path;
        t.iconPath = new vscode.ThemeIcon('file');
        t.contextValue = /\.(csv|tsv|parquet|arrow|feather|jsonl|ndjson)$/i.test(n.path) ? 'dataFile' : 'file';
        t.id = `file:${n.path}`;
        if (t.contextValue === 'dataFile') t.command = { command: 'datatools.explorer.preview', title: 'Preview Data', arguments: [n] };
        else if (!n.path.startsWith('s3://')) t.command = { command: 'vscode.open', title: 'Open', arguments: [vscode.Uri.file(n.path)] };
        return t;
      }
      case 'message': {
        const t = new vscode.TreeItem(n.text, C.None);
        t.iconPath = new vscode.ThemeIcon(n.error ? 'error' : 'info');
        t.tooltip = n.text;
        t.contextValue = n.error ? 'error' : 'message';
        return t;
      }
    }
  }

  async getChildren(n?: Node): Promise<Node[]> {
    try {
      return await this.children(n);
    } catch (e) {
      return [{ kind: 'message', text: (e as Error).message.split('\n')[0], error: true }];
    }
  }

  private async children(n?: Node): Promise<Node[]> {
    const cfg = this.host.config;
    const ctx = this.host.context();
    if (!n) {
      const conns: Node[] = [{ kind: 'connection', name: 'sample', label: 'sample', detail: 'embedded PGlite' }];
      if (cfg.databaseUrl) conns.push({ kind: 'connection', name: 'default', label: 'default', detail: 'DATABASE_URL' });
      for (const c of cfg.connections) {
        let detail = 'postgres';
        try { const u = new URL(c.url); detail = `${decodeURIComponent(u.username)}@${u.hostname}:${u.port || 5432}${u.pathname}`; } catch { /* keep */ }
        conns.push({ kind: 'connection', name: c.name, label: c.name, detail });
      }
      return [...conns, { kind: 'files' }];
    }
    if (n.kind === 'connection') {
      const schemas = await listSchemas(ctx, n.name);
      if (!schemas.length) return [{ kind: 'message', text: 'No schemas visible to this login role' }];
      return schemas.map(s => ({ kind: 'schema', connection: n.name, name: s.name, count: s.relations }));
    }
    if (n.kind === 'schema') {
      const { items, more } = await listRelations(ctx, n.name, n.connection, CHILD_LIMIT);
      const out: Node[] = items.map(r => ({ kind: 'relation', connection: n.connection, schema: r.schema, name: r.name, relKind: r.kind, rows: r.rows, comment: r.comment }));
      if (more) out.push({ kind: 'message', text: `First ${CHILD_LIMIT.toLocaleString('en-US')} shown; use list_tables or a query for the rest` });
      if (!out.length) out.push({ kind: 'message', text: 'No tables or views' });
      return out;
    }
    if (n.kind === 'relation') {
      return (await listColumns(ctx, n.schema, n.name, n.connection)).map(c => ({ kind: 'column', name: c.name, type: c.type, pk: c.primaryKey, fk: c.foreignKey, nullable: c.nullable, comment: c.comment }));
    }
    if (n.kind === 'files') {
      const out: Node[] = cfg.allowedPaths.map(p => ({ kind: 'dir', path: p, label: DataExplorer.rootLabel(p), ...(fs.existsSync(p) ? {} : { missing: true }) }));
      for (const g of new S3Policy(cfg.s3).grants) out.push({ kind: 'dir', path: `s3://${g.bucket}/${g.prefix ? `${g.prefix}/` : ''}`, label: `s3://${g.bucket}/${g.prefix ? `${g.prefix}/` : ''}` });
      return out;
    }
    if (n.kind === 'dir') {
      const tool = this.host.find('list_files')!;
      const r = await tool.handler({ path: n.path }, ctx);
      if (r.isError) throw new Error(r.text);
      const t = r.parts.find((p): p is TablePart => p.kind === 'table');
      const rows = (t?.rows ?? []) as [string, string, number | null, string][];
      const dirs = rows.filter(x => x[1] === 'dir' && !path.basename(x[0].replace(/\/$/, '')).startsWith('.'));
      const files = rows.filter(x => x[1] === 'file' && (this.allFiles ? !path.basename(x[0]).startsWith('.') : DATA_FILE.test(x[0])));
      const out: Node[] = [...dirs.map(d => ({ kind: 'dir' as const, path: d[0] })), ...files.map(f => ({ kind: 'file' as const, path: f[0], bytes: f[2] }))];
      if (t?.truncated) out.push({ kind: 'message', text: 'More entries exist; use list_files with a pattern' });
      if (!out.length) out.push({ kind: 'message', text: this.allFiles ? 'Empty folder' : 'No data files here' });
      return out;
    }
    return [];
  }
}

export function qualified(n: Extract<Node, { kind: 'relation' }>): string {
  const simple = (s: string) => /^[a-z_][a-z0-9_]*$/.test(s) ? s : quoteIdent(s);
  return `${simple(n.schema)}.${simple(n.name)}`;
}

/** Runs: the recent tool calls from the audit log, newest first; a click reopens the result if it is in memory. */
export class RunsView implements vscode.TreeDataProvider<AuditEntry> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  constructor(private readonly host: ToolHost, private readonly results: ResultStore) {
    host.audit.onRecord(() => this.changed.fire());
  }
  refresh(): void { this.changed.fire(); }
  getChildren(e?: AuditEntry): AuditEntry[] {
    if (e) return [];
    return this.host.audit.tail(200).filter(x => x.caller !== 'explorer');
  }
  getTreeItem(e: AuditEntry): vscode.TreeItem {
    const t = new vscode.TreeItem(e.tool, vscode.TreeItemCollapsibleState.None);
    const who: Record<string, string> = { copilot: 'Copilot', chat: '@data', command: 'command', mcp: 'MCP', test: 'test', explorer: 'explorer' };
    t.description = `${e.outcome} · ${e.durationMs} ms · ${who[e.caller] ?? e.caller} · ${e.time.slice(11, 19)}`;
    t.iconPath = new vscode.ThemeIcon(e.outcome === 'ok' ? 'pass' : e.outcome === 'refused' ? 'circle-slash' : e.outcome === 'cancelled' ? 'debug-stop' : 'error');
    const md = new vscode.MarkdownString();
    md.appendText(`${e.tool} by ${who[e.caller] ?? e.caller} as ${e.role} at ${e.time}\n${e.outcome}${e.error ? `: ${e.error.slice(0, 300)}` : ''}\n`);
    md.appendCodeblock(JSON.stringify(e.input, null, 2).slice(0, 1500), 'json');
    t.tooltip = md;
    t.contextValue = this.results.get(e.id) ? 'run.result' : 'run';
    t.command = { command: 'datatools.openRun', title: 'Open Result', arguments: [e] };
    return t;
  }
}
