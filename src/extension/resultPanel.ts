import * as vscode from 'vscode';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ToolHost } from '../core/host';
import type { TablePart } from '../core/result';
import { toArrowIPC } from '../core/formats/arrowWrite';
import { toCsv } from '../core/formats/csvWrite';
import { toParquet } from '../core/formats/parquetWrite';
import { PathPolicy } from '../core/storage/paths';
import type { StoredResult } from './results';

const PAGE_TITLE = 'Data Tools Result';

export interface PaintReport { id: string; rows: number; ms: number; complete?: boolean }

/** One result tab. A kept (pinned) tab holds its result; the next result opens a new tab instead of replacing it. */
interface View { panel: vscode.WebviewPanel; current: StoredResult; ready: boolean; kept: boolean; editor?: boolean }

/** The result view: one webview panel type for every tool result (grid, images, output, errors). New results go to
 *  the live tab (opened beside the editor the person runs from, so the SQL stays visible); "Keep" in a result's
 *  header keeps that tab, and the next result opens a new one. */
export class ResultPanel implements vscode.Disposable {
  private live: View | undefined;
  private readonly views = new Set<View>();
  private readonly painted = new vscode.EventEmitter<PaintReport>();
  readonly onDidPaint = this.painted.event;
  /** The recent paint reports (the first rows of a big table, then the whole table). */
  readonly paints: PaintReport[] = [];
  get lastPaint(): PaintReport | undefined { return this.paints[this.paints.length - 1]; }
  /** How many result tabs are open, and how many of them are kept. */
  get counts(): { open: number; kept: number } { return { open: this.views.size, kept: [...this.views].filter(v => v.kept).length }; }

  /** Set by the commands: re-runs a table preview sorted on the server (undefined: in its table order). */
  onServerSort: ((r: StoredResult, orderBy: { column: string; desc: boolean } | undefined) => Promise<void>) | undefined;

  constructor(private readonly context: vscode.ExtensionContext, private readonly host: ToolHost) {}

  /** Shows a result in the live tab. Without a column: a new tab opens beside the active text editor (or in the
   *  active group when none), an existing live tab stays where the person put it. */
  async show(r: StoredResult, column?: vscode.ViewColumn): Promise<void> {
    const title = `${r.tool}${r.context ? ` on ${r.context}` : ''}: ${shortTitle(r)}`;
    let v = this.live;
    if (!v) {
      const roots = [vscode.Uri.joinPath(this.context.extensionUri, 'dist'), vscode.Uri.joinPath(this.context.extensionUri, 'media')];
      const beside = column === undefined && !!vscode.window.activeTextEditor;
      const panel = vscode.window.createWebviewPanel('datatools.result', title,
        { viewColumn: column ?? (beside ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active), preserveFocus: beside },
        { enableScripts: true, localResourceRoots: roots, retainContextWhenHidden: true });
      panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'icon.svg');
      const view: View = { panel, current: r, ready: false, kept: false };
      v = view;
      this.live = view;
      this.views.add(view);
      panel.webview.html = this.html(panel.webview);
      panel.webview.onDidReceiveMessage(m => void this.onMessage(view, m));
      panel.onDidDispose(() => { this.views.delete(view); if (this.live === view) this.live = undefined; });
    } else {
      v.current = r;
      v.panel.title = title;
      v.panel.reveal(column ?? v.panel.viewColumn, column === undefined);
    }
    if (v.ready) await this.post(v);
  }

  /** Renders a result in a webview panel the caller owns (a data file's custom editor): the same page and messages
   *  as a result tab, without Keep (it is the file's own tab) and without "What the model received" (no model saw it).
   *  Called again with a new result (the file changed), it shows that one. */
  async showIn(panel: vscode.WebviewPanel, r: StoredResult): Promise<void> {
    let v = [...this.views].find(x => x.panel === panel);
    if (!v) {
      const view: View = { panel, current: r, ready: false, kept: true, editor: true };
      v = view;
      this.views.add(view);
      panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist'), vscode.Uri.joinPath(this.context.extensionUri, 'media')] };
      panel.webview.html = this.html(panel.webview);
      panel.webview.onDidReceiveMessage(m => void this.onMessage(view, m));
      panel.onDidDispose(() => this.views.delete(view));
    } else {
      v.current = r;
      if (!panel.webview.html.includes(PAGE_TITLE)) {
        // the editor showed a message page in between: the grid's page loads again and asks for the result
        v.ready = false;
        panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist'), vscode.Uri.joinPath(this.context.extensionUri, 'media')] };
        panel.webview.html = this.html(panel.webview);
      }
    }
    if (v.ready) await this.post(v);
  }

  private async post(v: View): Promise<void> {
    const r = v.current;
    const tables = r.result.parts.filter((p): p is TablePart => p.kind === 'table');
    // a big table is sent in two steps: its first rows at once (first paint), then the whole table
    const HEAD = 2000;
    const ipc = await Promise.all(tables.map(t => toArrowIPC(t.columns, t.rows.length > HEAD * 2 ? t.rows.slice(0, HEAD) : t.rows)));
    let ti = 0;
    const parts = r.result.parts.map(p => (p.kind === 'table' ? { kind: 'table', index: ti++ } : p));
    await v.panel.webview.postMessage({
      type: 'show', id: r.id, tool: r.tool, title: shortTitle(r), context: r.context, text: r.result.text, isError: !!r.result.isError,
      durationMs: r.result.durationMs, parts, kept: v.kept, editor: v.editor, file: r.file, preview: r.preview ? { relation: r.preview.relation, rows: r.preview.rows, orderBy: r.preview.orderBy } : undefined,
      tables: tables.map(t => ({ title: t.title, columns: t.columns, rowCount: t.rows.length, totalRows: t.totalRows, truncated: t.truncated, partial: t.rows.length > HEAD * 2 })),
      ipc, sentAt: Date.now(),
    });
    for (const [index, t] of tables.entries()) {
      if (t.rows.length <= HEAD * 2) continue;
      const full = await toArrowIPC(t.columns, t.rows);
      if (v.current !== r || !this.views.has(v)) return;
      await v.panel.webview.postMessage({ type: 'table', id: r.id, index, ipc: full, sentAt: Date.now() });
    }
  }

  private async onMessage(v: View, m: { type: string; [k: string]: unknown }): Promise<void> {
    if (m.type === 'ready') { v.ready = true; await this.post(v); return; }
    if (m.type === 'painted') {
      const report = m as unknown as PaintReport;
      this.paints.push(report);
      if (this.paints.length > 20) this.paints.shift();
      this.painted.fire(report);
      return;
    }
    if (m.type === 'keep' && !v.editor) {
      // Keep: this tab keeps its result and the next one opens a new tab; a second click releases it, and it becomes
      // the tab the next result replaces
      v.kept = m.keep !== false;
      if (v.kept && this.live === v) this.live = undefined;
      if (!v.kept) this.live = v;
      v.panel.title = `${v.kept ? 'Kept: ' : ''}${v.panel.title.replace(/^Kept: /, '')}`;
      await v.panel.webview.postMessage({ type: 'kept', kept: v.kept });
      return;
    }
    if (m.type === 'serverSort' && v.current.preview && this.onServerSort) {
      const orderBy = typeof m.column === 'string' ? { column: m.column, desc: m.desc === true } : undefined;
      await this.onServerSort(v.current, orderBy);
      return;
    }
    if (m.type === 'copy' && typeof m.text === 'string') { await vscode.env.clipboard.writeText(m.text); return; }
    if (m.type === 'export') await this.export(v.current, Number(m.table), m.format === 'parquet' ? 'parquet' : 'csv');
  }

  /** Exports a whole table through the same path policy as write_file: only inside the allowed roots. */
  private async export(current: StoredResult, index: number, format: 'csv' | 'parquet'): Promise<void> {
    const t = current.result.parts.filter((p): p is TablePart => p.kind === 'table')[index];
    if (!t) return;
    const roots = this.host.config.allowedPaths;
    const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? roots[0];
    const uri = await vscode.window.showSaveDialog({ title: `Export ${t.rows.length.toLocaleString('en-US')} rows as ${format.toUpperCase()}`,
      defaultUri: vscode.Uri.file(path.join(base, `result.${format}`)), filters: format === 'csv' ? { CSV: ['csv'] } : { Parquet: ['parquet'] } });
    if (!uri) return;
    try {
      const data = format === 'csv' ? Buffer.from(toCsv(t.columns.map(c => c.name), t.rows, t.columns.map(c => c.type))) : Buffer.from(await toParquet(t.columns, t.rows));
      const written = await new PathPolicy(roots, this.host.config.limits.maxFileBytes).writeAtomic(uri.fsPath, data);
      void vscode.window.showInformationMessage(`Exported ${t.rows.length.toLocaleString('en-US')} rows to ${written}.`);
    } catch (e) {
      void vscode.window.showErrorMessage(`Export failed: ${(e as Error).message}`);
    }
  }

  private html(webview: vscode.Webview): string {
    const nonce = randomBytes(16).toString('base64');
    const js = webview.asWebviewUri(vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview.js'));
    const css = webview.asWebviewUri(vscode.Uri.joinPath(this.context.extensionUri, 'media', 'result.css'));
    // no remote content, no inline script, images only from blobs the page makes itself
    const csp = [`default-src 'none'`, `img-src blob:`, `style-src ${webview.cspSource} 'nonce-${nonce}'`, `font-src ${webview.cspSource}`, `script-src 'nonce-${nonce}'`].join('; ');
    return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${css}" nonce="${nonce}"><title>${PAGE_TITLE}</title></head>
<body><div id="app"><p>Loading…</p></div><script nonce="${nonce}" src="${js}"></script></body></html>`;
  }

  dispose(): void { for (const v of [...this.views]) v.panel.dispose(); this.painted.dispose(); }
}

function shortTitle(r: StoredResult): string {
  const t = r.result.parts.find((p): p is TablePart => p.kind === 'table')?.title;
  const s = (t ?? r.result.text.split('\n')[0]).replace(/\s+/g, ' ').trim();
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}
