import * as vscode from 'vscode';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ToolHost } from '../core/host';
import type { TablePart } from '../core/result';
import { chartData, columnHistograms, widestValue } from '../core/chartData';
import { toArrowIPC } from '../core/formats/arrowWrite';
import { writeTable } from '../core/formats/tableWrite';
import { PathPolicy } from '../core/storage/paths';
import { valueText } from '../core/values';
import { FIRST, WHOLE, exportName, type StoredResult } from './results';

const PAGE_TITLE = 'Data Tools Result';

/** A paint of the grid: `rows` it holds, `total` it covers (a paged grid holds windows of a stored result). */
export interface PaintReport {
  id: string; rows: number; ms: number; complete?: boolean; total?: number;
  /** A streamed query's first rows, painted while the rest still arrive. */
  loading?: boolean;
  /** When the report arrived and when the tool call that made the result started (extension host clock, ms). */
  at?: number; started?: number;
}

/** The most rows one window request may ask for (a copy of a large range asks for it in such windows). */
const MAX_WINDOW = 100_000;
const GONE = 'These rows are no longer kept: results are dropped after a while unused, or when newer results need the room. Run it again to see them.';

/** One result tab. A kept (pinned) tab holds its result; the next result opens a new tab instead of replacing it. */
interface View { panel: vscode.WebviewPanel; current: StoredResult; ready: boolean; kept: boolean; editor?: boolean;
  /** The result shown before `current` (its paint may be reported after it was replaced, e.g. a streamed query's first rows). */
  previous?: StoredResult }

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
  /** Set by the commands: runs a cut table preview again with only the rows that contain the text (undefined: all). */
  onServerFilter: ((r: StoredResult, search: { text: string; columns: string[] } | undefined) => Promise<void>) | undefined;

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
      v.previous = v.current;
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
    // a table held in the result store is paged from it: a small one goes whole, a big one its first rows; the grid
    // asks for other windows (and sorts, filters, statistics over the whole result) as the person uses it. The view
    // holds only a table's first rows when the store has the rest (results.ts), and a streamed result none at all.
    const counts = tables.map(t => t.storedRows ?? t.rows.length);
    const inStore = tables.map(t => !!t.resultId && this.host.results.has(t.resultId));
    const partial = tables.map((t, i) => t.rows.length < counts[i]);
    const paged = tables.map((t, i) => inStore[i] && (counts[i] > WHOLE || partial[i]));
    // the store dropped the rest of a table whose first rows the view holds: those are shown, and the grid says the
    // others are gone, with Run again
    const gone = tables.map((_, i) => !inStore[i] && partial[i]);
    const ipc = await Promise.all(tables.map(async (t, i) => {
      if (!paged[i]) return toArrowIPC(t.columns, t.rows);
      if (t.rows.length >= Math.min(FIRST, counts[i]) && !r.stream) return toArrowIPC(t.columns, t.rows.slice(0, FIRST));
      const page = await this.host.results.page(t.resultId!, { limit: FIRST });
      counts[i] = page.total; // (a streamed result: the rows so far)
      return toArrowIPC(t.columns, page.rows);
    }));
    // a newer result replaced this one meanwhile (a streamed query's final result): it is not shown
    if (v.current !== r) return;
    let ti = 0;
    const parts = r.result.parts.map(p => (p.kind === 'table' ? { kind: 'table', index: ti++ } : p));
    await v.panel.webview.postMessage({
      type: 'show', id: r.id, tool: r.tool, title: shortTitle(r), context: r.context, text: r.result.text, isError: !!r.result.isError,
      durationMs: r.result.durationMs, parts, kept: v.kept, editor: v.editor, file: r.file, canRerun: !!r.rerun, byModel: !!r.byModel,
      preview: r.preview ? { relation: r.preview.relation, rows: r.preview.rows, orderBy: r.preview.orderBy, search: r.preview.search?.text } : undefined,
      tables: tables.map((t, i) => ({ title: t.title, columns: t.columns, rowCount: counts[i], totalRows: t.totalRows, truncated: t.truncated, paged: paged[i] || gone[i],
        ...(gone[i] ? { gone: GONE } : {}),
        ...(i === 0 && r.querySort ? { querySort: { orderBy: r.querySort.orderBy } } : {}),
        ...(r.stream && t.resultId && paged[i] ? { loading: r.stream.loading, failed: r.stream.failed } : {}) })),
      ipc, sentAt: Date.now(),
    });
  }

  /** A streamed result has more rows (`rows` so far): the views showing it extend their grid. */
  loading(r: StoredResult, rows: number): void {
    for (const v of this.views) {
      if (v.current !== r || !v.ready) continue;
      void v.panel.webview.postMessage({ type: 'rows', id: r.id, table: 0, rows });
    }
  }

  /** A window, the statistics or the re-run the grid asked for, answered from the result store. */
  private async answer(v: View, m: { type: string; [k: string]: unknown }): Promise<void> {
    const r = v.current;
    const t = r.result.parts.filter((p): p is TablePart => p.kind === 'table')[Number(m.table)];
    const reply = (x: Record<string, unknown>) => v.panel.webview.postMessage({ type: m.type, id: r.id, req: m.req, table: m.table, ...x });
    if (!t?.resultId || m.id !== r.id) return;
    const search = typeof m.search === 'string' && m.search.trim() ? m.search : undefined;
    try {
      if (m.type === 'page') {
        const orderBy = typeof m.column === 'string' ? [{ column: m.column, desc: m.desc === true }] : undefined;
        const page = await this.host.results.page(t.resultId, { offset: Number(m.offset), limit: Math.min(Number(m.limit), MAX_WINDOW), orderBy, search });
        await reply({ ipc: await toArrowIPC(page.columns, page.rows), offset: page.offset, matched: page.matched, total: page.total, sentAt: Date.now() });
      } else if (m.type === 'chart') {
        // a chart of the whole result in the grid's order and filter: bins, points or the first bars, never rows
        const orderBy = typeof m.column === 'string' ? [{ column: m.column, desc: m.desc === true }] : undefined;
        const kind = m.kind === 'line' || m.kind === 'histogram' ? m.kind : 'bar';
        await reply({ chart: await chartData(this.host.results, t.resultId, { kind, x: typeof m.x === 'string' ? m.x : undefined, y: String(m.y), orderBy, search, bars: Number(m.bars) || undefined }) });
      } else if (m.type === 'widest') {
        // the longest text of a column over the whole result (cut), for fitting its width
        const w = await widestValue(this.host.results, t.resultId, String(m.column));
        await reply({ widest: w.text });
      } else {
        const d = await this.host.results.describe(t.resultId, undefined, undefined, search);
        const hist = await columnHistograms(this.host.results, t.resultId, d, search);
        await reply({ matched: d.matched, stats: d.columns.map((c, j) => ({ nulls: c.nulls, distinct: c.distinct, distinctCapped: !c.distinctExact,
          min: c.count ? valueText(c.min, c.type) : undefined, max: c.count ? valueText(c.max, c.type) : undefined, hist: hist[j] })) });
      }
    } catch (e) {
      // evicted (or unknown): the grid says so in a person's words and offers to run it again
      await reply({ error: this.host.results.has(t.resultId) ? `The rows could not be read: ${(e as Error).message}` : GONE });
    }
  }

  private async onMessage(v: View, m: { type: string; [k: string]: unknown }): Promise<void> {
    if (m.type === 'ready') { v.ready = true; await this.post(v); return; }
    if (m.type === 'painted') {
      const report = { ...(m as unknown as PaintReport), at: Date.now() };
      if (report.id === v.current.id) report.started = v.current.time - v.current.result.durationMs;
      else if (report.id === v.previous?.id) report.started = v.previous.time - v.previous.result.durationMs;
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
      if (!v.kept) {
        // only one tab receives new results: a tab that was live until now keeps its result instead of being left
        // open with no role (neither kept nor replaced)
        const was = this.live;
        this.live = v;
        if (was && was !== v && this.views.has(was)) await this.setKept(was, true);
      }
      await this.setKept(v, v.kept);
      return;
    }
    if (m.type === 'serverSort' && v.current.preview && this.onServerSort) {
      const orderBy = typeof m.column === 'string' ? { column: m.column, desc: m.desc === true } : undefined;
      await this.onServerSort(v.current, orderBy);
      return;
    }
    if (m.type === 'serverFilter' && v.current.preview && this.onServerFilter) {
      const t = v.current.result.parts.find((p): p is TablePart => p.kind === 'table');
      const text = typeof m.search === 'string' ? m.search.trim() : '';
      await this.onServerFilter(v.current, text && t ? { text, columns: t.columns.map(c => c.name) } : undefined);
      return;
    }
    if (m.type === 'serverSort' && v.current.querySort) {
      // a query result cut at max_rows: the whole query, sorted on the server (the column by its position)
      const index = Number(m.index);
      const orderBy = typeof m.column === 'string' && Number.isInteger(index) && index >= 0 ? { column: m.column, index, desc: m.desc === true } : undefined;
      await v.current.querySort.run(orderBy);
      return;
    }
    if (m.type === 'page' || m.type === 'stats' || m.type === 'chart' || m.type === 'widest') { await this.answer(v, m); return; }
    if (m.type === 'rerun' && v.current.rerun) { await v.current.rerun(); return; }
    if (m.type === 'copy' && typeof m.text === 'string') { await vscode.env.clipboard.writeText(m.text); return; }
    if (m.type === 'export') await this.export(v.current, Number(m.table), m.format === 'parquet' ? 'parquet' : 'csv');
  }

  private async setKept(v: View, kept: boolean): Promise<void> {
    v.kept = kept;
    v.panel.title = `${kept ? 'Kept: ' : ''}${v.panel.title.replace(/^Kept: /, '')}`;
    await v.panel.webview.postMessage({ type: 'kept', kept });
  }

  /** Exports a whole table through the same path policy as write_file: only inside the allowed roots. A stored
   *  table is read from the result store in chunks and written as it is read (CSV and Parquet alike). */
  private async export(current: StoredResult, index: number, format: 'csv' | 'parquet'): Promise<void> {
    const t = current.result.parts.filter((p): p is TablePart => p.kind === 'table')[index];
    if (!t) return;
    const n = t.storedRows ?? t.rows.length;
    // the view holds only the first rows of a stored table: with the store's copy gone, an export would be partial
    if (t.rows.length < n && !(t.resultId && this.host.results.has(t.resultId))) { void vscode.window.showErrorMessage(`Export failed: ${GONE}`); return; }
    const roots = this.host.config.allowedPaths;
    const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? roots[0];
    // a cut result (a table bigger than max_rows, a query cut there) exports the rows it holds: said before and after
    const all = t.totalRows !== undefined ? t.totalRows.toLocaleString('en-US') : 'more';
    const what = t.truncated ? `the first ${n.toLocaleString('en-US')} of ${all} rows` : `${n.toLocaleString('en-US')} rows`;
    const uri = await vscode.window.showSaveDialog({ title: `Export ${what} as ${format.toUpperCase()}${t.truncated ? ' (the result holds no more)' : ''}`,
      defaultUri: vscode.Uri.file(path.join(base, `${exportName(current)}.${format}`)), filters: format === 'csv' ? { CSV: ['csv'] } : { Parquet: ['parquet'] } });
    if (!uri) return;
    try {
      const stored = !!t.resultId && this.host.results.has(t.resultId);
      const chunks = async function* (host: ToolHost): AsyncGenerator<unknown[][]> {
        if (stored) yield* host.results.scan(t.resultId!);
        else yield t.rows;
      };
      // streamed into a temporary file beside the target, renamed when complete (the size limit checked as it grows):
      // neither the rows nor the file are held whole
      const written = await new PathPolicy(roots, this.host.config.limits.maxFileBytes)
        .writeAtomicStream(uri.fsPath, write => writeTable(format, t.columns, () => chunks(this.host), write));
      void vscode.window.showInformationMessage(t.truncated
        ? `Exported the first ${written.value.rows.toLocaleString('en-US')} of ${all} rows to ${written.path}: the result holds no more (a query with save_as, or a higher max_rows, writes them all).`
        : `Exported ${written.value.rows.toLocaleString('en-US')} rows to ${written.path}.`);
    } catch (e) {
      void vscode.window.showErrorMessage(`Export failed: ${this.host.results.has(t.resultId ?? '') || !t.resultId ? (e as Error).message : GONE}`);
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
