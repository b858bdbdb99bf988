// The result view: one panel type for every tool result. Tables arrive as Arrow IPC bytes and are shown in a
// virtualized grid; every value is written with textContent, never parsed as markup.
import { tableFromIPC, type Table, type Vector } from 'apache-arrow';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import { cellString, formatRange, type CopyFormat } from './copy';
import { parseJsonExact, prettyJson } from './json';
import { isPlan, jsonPlanView, textPlanView } from './plan';
import { drawChart, toNumber, type ChartKind } from './chart';

interface Column { name: string; type: string }
/** `paged`: the grid holds windows of a result in the extension's result store (rowCount rows in all) and asks for
 *  others as the person scrolls; sort, filter and statistics then run there, over the whole result. */
interface TableMeta { title?: string; columns: Column[]; rowCount: number; totalRows?: number; truncated: boolean; paged?: boolean;
  /** A streamed query: its rows are still arriving (rowCount: so far), or they stopped (failed: why) after rowCount rows. */
  loading?: boolean; failed?: string;
  /** The result store no longer holds the rows past the first ones the view has (said in the grid, with Run again). */
  gone?: string;
  /** A query result cut at max_rows: the view offers to run the whole query sorted on the server (orderBy: these
   *  rows came that way, the first rows of the whole query in that order). */
  querySort?: { orderBy?: { column: string; index: number; desc: boolean } } }
type Part =
  | { kind: 'image'; mimeType: string; data: string; title?: string }
  | { kind: 'stream'; name: string; text: string; droppedBytes?: number }
  | { kind: 'error'; name: string; value: string; traceback: string }
  | { kind: 'file'; path: string; bytes?: number; description?: string }
  | { kind: 'html'; html: string }
  | { kind: 'json'; value: unknown }
  | { kind: 'table'; index: number };
/** A table preview: the rows of a relation (all of them, or the first `rows` when it has more: then a sort or a
 *  filter runs it again on the server, `search`: the rows that contain that text). */
interface PreviewMeta { relation: string; rows: number; orderBy?: { column: string; desc: boolean }; search?: string }
interface ShowMessage { type: 'show'; id: string; byModel?: boolean; kept?: boolean; editor?: boolean; file?: string; canRerun?: boolean; preview?: PreviewMeta; tool: string; title: string; context?: string; text: string; isError: boolean; durationMs?: number; parts: Part[]; tables: TableMeta[]; ipc: Uint8Array[]; sentAt: number }

declare function acquireVsCodeApi(): { postMessage(m: unknown): void };
const vscode = acquireVsCodeApi();
const ROW_H = 22;
const app = document.getElementById('app')!;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function custom(tag: string, attrs: Record<string, string> = {}, text?: string): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
const fmt = (n: number) => n.toLocaleString('en-US');

/** Sort order within a column: decimals (sent as exact text) by their numeric value, the rest by JS order. */
function comparator(type: string): (x: unknown, y: unknown) => number {
  if (/^(numeric|decimal)/i.test(type)) {
    return (x, y) => { const a = Number(x); const b = Number(y); return a < b ? -1 : a > b ? 1 : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0; };
  }
  return (x, y) => ((x as number) < (y as number) ? -1 : (x as number) > (y as number) ? 1 : 0);
}

let shownId = '';
let canRerun = false;
let grids: Grid[] = [];
/** An answer from the extension to a window or statistics request. */
interface Reply { type: 'page' | 'stats' | 'chart' | 'widest'; id: string; req: number; error?: string; ipc?: Uint8Array; offset?: number; matched?: number; total?: number; stats?: Stats[];
  /** A chart over the whole result (src/core/chartData.ts): bins, points or the first bars. */
  chart?: { kind: 'histogram'; rows: number; values: number; min: number; max: number; bins: number[] }
    | { kind: 'line'; rows: number; values: number; points: [number, number][]; buckets?: number }
    | { kind: 'bar'; rows: number; labels: (string | null)[]; values: (string | null)[] };
  /** The longest text of a column over the whole result (cut at 2,000 characters). */
  widest?: string }
const pending = new Map<number, (m: Reply) => void>();
let reqSeq = 0;
/** Asks the extension (the result store) for a window of rows or the column statistics of the shown result. */
function ask(m: Record<string, unknown>): Promise<Reply> {
  const req = ++reqSeq;
  return new Promise(resolve => { pending.set(req, resolve); vscode.postMessage({ ...m, id: shownId, req }); });
}
window.addEventListener('message', (ev: MessageEvent) => {
  const m = ev.data as ShowMessage | Reply | { type: 'kept'; kept: boolean } | { type: 'rows'; id: string; table: number; rows: number };
  if (m?.type === 'show') render(m);
  else if (m?.type === 'kept') showKept(m.kept);
  else if (m?.type === 'rows') { if (m.id === shownId) grids.find(g => g.index === m.table)?.grow(m.rows); }
  else if ((m?.type === 'page' || m?.type === 'stats' || m?.type === 'chart' || m?.type === 'widest') && pending.has(m.req)) {
    const done = pending.get(m.req)!;
    pending.delete(m.req);
    if (m.id === shownId) done(m);
  }
});
vscode.postMessage({ type: 'ready' });

/** The Keep button is a toggle: pressed, the tab keeps its result; pressed again, it releases it. */
function showKept(kept: boolean): void {
  const b = document.querySelector('header.top .keep');
  if (!b) return;
  b.textContent = kept ? 'Kept' : 'Keep';
  b.setAttribute('aria-pressed', String(kept));
  b.setAttribute('title', kept ? 'This tab keeps its result; new results open in another tab. Click to release it (the next result then replaces it)'
    : 'Keep this result: the next result opens in a new tab');
}

function render(m: ShowMessage): void {
  app.replaceChildren();
  shownId = m.id;
  canRerun = !!m.canRerun;
  pending.clear();
  const head = el('header', 'top');
  head.append(el('h1', '', m.title));
  const meta = el('div', 'meta');
  meta.append(custom('vscode-badge', { variant: 'counter' }, m.tool));
  if (m.context) meta.append(el('span', 'context', `on ${m.context}`));
  if (m.isError) meta.append(el('span', 'bad', 'error'));
  if (m.durationMs !== undefined) meta.append(el('span', 'dim', `${fmt(Math.round(m.durationMs))} ms`));
  head.append(meta);
  // Keep: this tab keeps this result; the next run opens a new tab instead of replacing it
  // (a data file's own editor tab has nothing to keep)
  if (!m.editor) {
    const keep = custom('vscode-button', { secondary: '', class: 'keep', 'aria-pressed': 'false', title: 'Keep this result: the next result opens in a new tab' }, 'Keep');
    keep.addEventListener('click', () => vscode.postMessage({ type: 'keep', keep: keep.getAttribute('aria-pressed') !== 'true' }));
    head.append(keep);
  }
  if (m.kept) showKept(true);
  app.append(head);

  grids = [];
  for (const p of m.parts) {
    if (p.kind === 'error') {
      const box = el('section', 'error');
      box.append(el('div', 'error-title', `${p.name}: ${p.value}`));
      if (p.traceback) box.append(el('pre', 'traceback', p.traceback));
      app.append(box);
    } else if (p.kind === 'stream') {
      const box = el('section', `stream ${p.name}`);
      box.append(el('div', 'label', p.name), el('pre', '', p.text));
      if (p.droppedBytes) box.append(el('div', 'dim', `… ${fmt(p.droppedBytes)} more bytes were dropped (output cap)`));
      app.append(box);
    } else if (p.kind === 'image') {
      const box = el('section', 'image');
      const img = el('img');
      const bytes = Uint8Array.from(atob(p.data), c => c.charCodeAt(0));
      // an SVG shown through <img> cannot run scripts or fetch anything; the CSP allows blob: images only
      img.src = URL.createObjectURL(new Blob([bytes], { type: p.mimeType }));
      img.alt = p.title ?? 'chart';
      box.append(img);
      app.append(box);
    } else if (p.kind === 'file') {
      app.append(el('div', 'file', `File: ${p.path}${p.bytes !== undefined ? ` (${fmt(p.bytes)} bytes)` : ''}`));
    } else if (p.kind === 'html') {
      // shown as its text only: markup from tools is never interpreted here
      const box = el('section', 'stream');
      box.append(el('div', 'label', 'HTML output (as text)'), el('pre', '', p.html));
      app.append(box);
    } else if (p.kind === 'json') {
      app.append(el('pre', 'json', JSON.stringify(p.value, null, 2)));
    } else if (p.kind === 'table') {
      const t = tableFromIPC(m.ipc[p.index]);
      const g = new Grid(t, m.tables[p.index], p.index, m.parts.length > 1, p.index === 0 ? m.preview : undefined, !!m.file);
      grids.push(g);
      const gone = m.tables[p.index].gone;
      if (gone) g.showGone(gone);
      const names = t.schema.fields.map(f => f.name);
      const plan = isPlan(names) && t.numRows > 0 ? planView(t, m.tables[p.index]) : undefined;
      if (plan) {
        // EXPLAIN: the plan as a tree; its rows stay one click away
        app.append(plan);
        const more = el('details', 'plan-table');
        more.append(el('summary', '', 'The plan as rows'), g.root);
        more.addEventListener('toggle', () => g.paint());
        app.append(more);
      } else app.append(g.root);
    }
  }
  if (!m.parts.some(p => p.kind === 'table' || p.kind === 'image' || p.kind === 'stream' || p.kind === 'error')) {
    // a text-only result (describe_table, get_schema, errors): the text is the content
    app.append(el('pre', `text${m.isError ? ' bad' : ''}`, m.text));
  }
  if (!m.editor) {
    const model = el('details', 'model');
    // what a model called the tool with saw; a person's own run (no model saw it) offers the same text as text
    model.append(el('summary', '', m.byModel ? 'What the model received' : 'As text (what an agent would receive)'), el('pre', '', m.text));
    app.append(model);
  }
  requestAnimationFrame(() => {
    for (const g of grids) g.paint();
    // a paged grid covers its whole result from here on (other windows come as the person scrolls)
    // (a streamed query still loading: its first rows, not yet the whole result)
    const loading = m.tables.some(t => t.loading);
    vscode.postMessage({ type: 'painted', id: m.id, rows: grids.reduce((s, g) => s + g.table.numRows, 0), total: m.tables.reduce((s, t) => s + t.rowCount, 0), ms: Date.now() - m.sentAt, complete: !loading, loading });
    // statistics cover the whole result: computed when it is complete (the view is then shown again)
    if (!loading) for (const g of grids) g.computeStatsLater();
  });
}

function planView(t: Table, meta: TableMeta): HTMLElement | undefined {
  const col = t.getChildAt(0)!;
  const type = meta.columns[0]?.type ?? '';
  if (/json/i.test(type) || (t.numRows === 1 && /^\s*\[/.test(String(col.get(0))))) return jsonPlanView(String(col.get(0)));
  const lines: string[] = [];
  for (let i = 0; i < t.numRows; i++) lines.push(cellString(col.get(i)));
  return textPlanView(lines);
}

interface Stats { nulls: number; distinct: number; distinctCapped: boolean; min?: unknown; max?: unknown; hist?: number[] }
interface Pos { r: number; c: number }

let measureCtx: CanvasRenderingContext2D | null = null;
function textWidth(s: string, font: string): number {
  measureCtx ??= document.createElement('canvas').getContext('2d');
  if (!measureCtx) return s.length * 7.5;
  measureCtx.font = font;
  return measureCtx.measureText(s).width;
}

let gridSeq = 0;
/** A paged grid loads its rows in windows of this many. */
const BLOCK = 500;
/** A value of a row whose window has not arrived yet. */
const MISSING = Symbol('missing');
/** The scroll height at most: past it a pixel of scrollbar stands for more than a row (browsers cap element height). */
const MAX_PX = 10_000_000;
/** Bars a bar chart draws (the first rows in the grid's order). */
const CHART_BARS = 60;

/** The table grid (ARIA grid pattern). The focus stays on the grid element; the active cell is named by
 *  aria-activedescendant. Keys: arrows, Home/End (row), Ctrl+Home/End (table), PageUp/PageDown; with Shift they
 *  extend the selection; Ctrl+A selects all; Ctrl+C copies the range as TSV; Enter (or F2, or a double-click)
 *  opens the value viewer; Shift+F10 or the context menu key opens the copy menu; ArrowUp from the first row
 *  reaches the header, where Enter sorts. Column edges are dragged to resize; a double-click on an edge fits. */
class Grid {
  readonly root = el('section', 'table');
  private cols: Vector[];
  private readonly names: string[];
  private readonly widths: number[];
  private order: Uint32Array;
  private sortCol = -1;
  private sortDir = 0;
  private readonly viewport = el('div', 'viewport');
  private readonly spacer = el('div', 'spacer');
  private readonly body = el('div', 'rows');
  private readonly headRow = el('div', 'head');
  private readonly headInner = el('div', 'head-inner');
  private readonly status = el('div', 'status');
  private readonly uid = `g${++gridSeq}`;
  /** The active cell (r = -1: the header row) and the other corner of the selected range. */
  private cur: Pos = { r: 0, c: 0 };
  private anchor: Pos = { r: 0, c: 0 };
  private hasSel = false;
  private dragging = false;
  private stats: (Stats | undefined)[] = [];
  private statEls: HTMLElement[] = [];
  private frame = 0;

  /** A preview that holds only the first rows of its table: sorting asks the server (the whole table). */
  private readonly serverSort: PreviewMeta | undefined;
  /** A query result cut at max_rows: a sort orders the rows held, and a button runs the whole query sorted on the
   *  server; `serverOrder`: these rows are the first of the whole query sorted by that column (until a local sort). */
  private readonly querySort: TableMeta['querySort'];
  private serverOrder: { col: number; desc: boolean } | undefined;
  private readonly serverBtn = custom('vscode-button', { secondary: '', class: 'server-sort' }, '');
  /** A table preview (whole or cut), and a cut one's button that filters the whole table on the server. */
  private readonly preview: PreviewMeta | undefined;
  private readonly serverFilterBtn = custom('vscode-button', { secondary: '', class: 'server-filter' }, '');
  /** Said in the grid when the filter leaves no rows. */
  private readonly empty = el('div', 'empty');

  /** Paged (a result in the store bigger than what is sent at once): the rows the view covers (after the filter),
   *  its loaded windows of BLOCK rows, and its filter text; `viewGen` counts sort/filter changes. */
  private readonly paged: boolean;
  private matched = 0;
  private blocks = new Map<number, Vector[]>();
  private loading = new Set<number>();
  private search = '';
  private viewGen = 0;
  private gone: string | undefined;

  /** Rows in the view (after the filter). */
  private get n(): number { return this.paged ? this.matched : this.order.length; }
  /** Rows of the result the grid covers. */
  private get held(): number { return this.paged ? this.meta.rowCount : this.table.numRows; }
  /** A paged grid in the result's own order, unfiltered: its first rows are the table it came with. */
  private get stored(): boolean { return (this.sortCol < 0 || !!this.serverSort) && !this.search; }

  /** The value at view row r, column c (MISSING: its window is on its way). */
  private value(r: number, c: number): unknown {
    if (!this.paged) return this.cols[c].get(this.order[r]);
    if (this.stored && r < this.table.numRows) return this.cols[c].get(r);
    const b = this.blocks.get(Math.floor(r / BLOCK));
    return b ? b[c].get(r % BLOCK) : MISSING;
  }

  private pageRequest(offset: number, limit: number): Record<string, unknown> {
    return { type: 'page', table: this.index, offset, limit, search: this.search || undefined,
      // (a cut preview's rows came sorted by the server: the store keeps that order)
      ...(this.sortCol >= 0 && !this.serverSort ? { column: this.names[this.sortCol], desc: this.sortDir < 0 } : {}) };
  }

  /** Asks for window b of the view; it is painted when it arrives. */
  private load(b: number): void {
    if (this.blocks.has(b) || this.loading.has(b) || this.gone) return;
    this.loading.add(b);
    const gen = this.viewGen;
    void ask(this.pageRequest(b * BLOCK, BLOCK)).then(m => {
      if (gen !== this.viewGen) return;
      this.loading.delete(b);
      if (m.error) { this.showGone(m.error); return; }
      const t = tableFromIPC(m.ipc!);
      this.blocks.set(b, t.schema.fields.map((_, i) => t.getChildAt(i)!));
      this.matched = m.matched!;
      this.version++;
      this.paint();
    });
  }

  /** A streamed result has `rows` rows so far: the grid covers them (a window cut at the old end is asked again). */
  grow(rows: number): void {
    if (!this.meta.loading || rows <= this.meta.rowCount) return;
    const was = this.meta.rowCount;
    this.meta.rowCount = rows;
    if (this.stored) {
      this.matched = rows;
      for (const b of [...this.blocks.keys()]) if ((b + 1) * BLOCK > was) this.blocks.delete(b);
      this.version++;
    }
    this.updateStatus();
    this.paint();
  }

  /** A new sort or filter: its first window and the number of rows it covers, from the store. */
  private async reload(): Promise<boolean> {
    const gen = ++this.viewGen;
    this.blocks.clear();
    this.loading.clear();
    const m = await ask(this.pageRequest(0, BLOCK));
    if (gen !== this.viewGen) return false;
    if (m.error) { this.showGone(m.error); return false; }
    const t = tableFromIPC(m.ipc!);
    this.blocks.set(0, t.schema.fields.map((_, i) => t.getChildAt(i)!));
    this.matched = m.matched!;
    this.version++;
    return true;
  }

  /** The status, the rows on screen and an open chart, after the rows' order or filter changed. */
  private refresh(): void {
    this.updateStatus();
    this.paint();
    if (!this.chartBox.hidden) this.drawChart();
  }

  /** Rows r0..r1, columns c0..c1 of the view (loaded windows, or asked for), or undefined when the result is gone. */
  private async rowsOf(r0: number, r1: number, c0: number, c1: number): Promise<unknown[][] | undefined> {
    const out: unknown[][] = [];
    let complete = true;
    for (let r = r0; r <= r1 && complete; r++) {
      const row: unknown[] = [];
      for (let c = c0; c <= c1; c++) { const v = this.value(r, c); if (v === MISSING) { complete = false; break; } row.push(v); }
      out.push(row);
    }
    if (complete) return out;
    const rows: unknown[][] = [];
    const gen = this.viewGen;
    for (let o = r0; o <= r1; o += 100_000) {
      const m = await ask(this.pageRequest(o, Math.min(100_000, r1 - o + 1)));
      if (m.error) { this.showGone(m.error); return undefined; }
      if (gen !== this.viewGen) return undefined;
      const t = tableFromIPC(m.ipc!);
      const cols = t.schema.fields.map((_, i) => t.getChildAt(i)!);
      for (let i = 0; i < t.numRows; i++) { const row: unknown[] = []; for (let c = c0; c <= c1; c++) row.push(cols[c].get(i)); rows.push(row); }
    }
    return rows;
  }

  /** The result is no longer in the store: said in the grid, with a button to run it again. */
  showGone(msg: string): void {
    if (this.gone) return;
    this.gone = msg;
    this.serverBtn.hidden = true;
    const box = el('div', 'gone');
    box.setAttribute('role', 'alert');
    box.append(el('span', '', msg));
    if (canRerun) {
      const b = custom('vscode-button', { class: 'rerun' }, 'Run again');
      b.addEventListener('click', () => vscode.postMessage({ type: 'rerun' }));
      box.append(b);
    }
    this.root.insertBefore(box, this.viewport);
    this.status.textContent = msg;
    this.version++;
    this.paint();
  }

  /** The first rows of a data file (its custom editor): the status says so, and what a sort or filter covers. */
  constructor(public table: Table, private readonly meta: TableMeta, readonly index: number, compact: boolean, preview?: PreviewMeta, private readonly filePreview = false) {
    this.cols = table.schema.fields.map((_, i) => table.getChildAt(i)!);
    this.names = table.schema.fields.map(f => f.name);
    this.preview = preview;
    this.serverSort = preview && meta.truncated ? preview : undefined;
    this.querySort = !preview && !filePreview && meta.truncated ? meta.querySort : undefined;
    const qo = this.querySort?.orderBy;
    if (qo && this.names[qo.index] === qo.column) this.serverOrder = { col: qo.index, desc: qo.desc };
    this.paged = !!meta.paged;
    this.matched = meta.rowCount;
    if (this.serverSort?.orderBy) {
      // the rows arrived sorted by the server
      this.sortCol = this.names.indexOf(this.serverSort.orderBy.column);
      this.sortDir = this.sortCol < 0 ? 0 : this.serverSort.orderBy.desc ? -1 : 1;
    }
    this.order = identity(table.numRows);
    // a first width from the first rows; a column is resized by dragging its edge, fitted by a double-click there
    // measured in the fonts the cells and headers use (a guess per character cut 20-digit integers short)
    const css = getComputedStyle(document.body);
    const cssVar = (k: string) => css.getPropertyValue(k).trim();
    const cellFont = `${cssVar('--vscode-editor-font-size') || '13px'} ${cssVar('--vscode-editor-font-family') || 'monospace'}`;
    const headFont = `600 ${css.fontSize || '13px'} ${css.fontFamily || 'sans-serif'}`;
    this.widths = this.names.map((n, j) => {
      let w = Math.max(textWidth(`${n} ▲`, headFont), textWidth(meta.columns[j]?.type ?? '', headFont) * 0.8);
      let longest = '';
      for (let i = 0; i < Math.min(table.numRows, 200); i++) { const v = cellString(this.cols[j].get(i)); if (v.length > longest.length) longest = v; }
      if (longest) w = Math.max(w, textWidth(longest.length > 200 ? longest.slice(0, 200) : longest, cellFont));
      return Math.min(480, Math.max(70, Math.ceil(w) + 18));
    });
    const bar = el('div', 'toolbar');
    if (meta.title) bar.append(el('div', 'table-title', meta.title));
    const filterLabel = this.serverSort ? `Filter the first ${fmt(meta.paged ? meta.rowCount : table.numRows)} rows (contains)` : 'Filter rows (contains)';
    const filter = custom('vscode-textfield', { placeholder: `${filterLabel}…`, class: 'filter', 'aria-label': filterLabel }) as HTMLElement & { value: string };
    let timer = 0;
    filter.addEventListener('input', () => { clearTimeout(timer); timer = window.setTimeout(() => this.applyFilter(filter.value), 200); });
    const copyAs = custom('vscode-button', { secondary: '', class: 'copy-as', 'aria-haspopup': 'menu' }, 'Copy as…');
    copyAs.addEventListener('click', () => { const b = copyAs.getBoundingClientRect(); this.openMenu(b.left, b.bottom + 2); });
    const csv = custom('vscode-button', { secondary: '' }, 'Export CSV');
    csv.addEventListener('click', () => vscode.postMessage({ type: 'export', table: this.index, format: 'csv' }));
    const pq = custom('vscode-button', { secondary: '' }, 'Export Parquet');
    pq.addEventListener('click', () => vscode.postMessage({ type: 'export', table: this.index, format: 'parquet' }));
    const chart = custom('vscode-button', { secondary: '', class: 'chart-toggle', 'aria-expanded': 'false' }, 'Chart');
    chart.addEventListener('click', () => this.toggleChart(chart));
    bar.append(filter, copyAs, chart, csv, pq);
    this.empty.hidden = true;
    this.empty.setAttribute('role', 'status');
    this.root.append(bar, this.chartBox, this.empty, this.viewport, this.status);
    if (this.serverSort || preview?.search) {
      // a cut preview: the filter covers the rows held; this runs it over the whole table on the server (and a
      // preview filtered there goes back to the whole table)
      this.serverFilterBtn.hidden = !preview?.search;
      this.serverFilterBtn.textContent = preview?.search ? `Show the whole table again (clear the server filter “${preview.search}”)` : '';
      this.serverFilterBtn.addEventListener('click', () => {
        const text = preview?.search && !this.filterText ? '' : this.filterText;
        vscode.postMessage({ type: 'serverFilter', search: text || undefined });
        this.serverFilterBtn.hidden = true;
        this.status.setAttribute('role', 'status');
        this.status.textContent = text ? `Filtering all ${this.meta.totalRows !== undefined ? `${fmt(this.meta.totalRows)} ` : ''}rows of ${preview!.relation} on the server…` : `Loading ${preview!.relation}…`;
      });
      this.root.append(this.serverFilterBtn);
    }
    if (this.querySort) {
      this.serverBtn.hidden = true;
      this.serverBtn.addEventListener('click', () => {
        if (this.sortCol < 0) return;
        const column = this.names[this.sortCol];
        const desc = this.sortDir < 0;
        vscode.postMessage({ type: 'serverSort', column, index: this.sortCol, desc });
        this.serverBtn.hidden = true;
        this.status.setAttribute('role', 'status');
        this.status.textContent = `Running the whole query sorted by ${column}${desc ? ' descending' : ''} on the server…`;
      });
      this.root.append(this.serverBtn);
    }
    this.chartBox.hidden = true;
    // the header sits in the scrolling grid (sticky), so it scrolls sideways with the rows and belongs to the grid
    this.headRow.setAttribute('role', 'rowgroup');
    this.headInner.setAttribute('role', 'row');
    this.headInner.setAttribute('aria-rowindex', '1');
    this.headRow.append(this.headInner);
    this.body.setAttribute('role', 'rowgroup');
    this.spacer.setAttribute('role', 'presentation');
    this.viewport.append(this.headRow, this.spacer);
    this.spacer.append(this.body);
    if (compact) this.viewport.style.height = '45vh';
    this.viewport.tabIndex = 0;
    this.viewport.setAttribute('role', 'grid');
    this.viewport.setAttribute('aria-multiselectable', 'true');
    this.viewport.setAttribute('aria-label', meta.title ?? 'Result table');
    this.viewport.setAttribute('aria-colcount', String(this.names.length));
    this.viewport.addEventListener('scroll', () => {
      if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.paint(); });
    });
    this.viewport.addEventListener('keydown', e => this.onKey(e));
    this.viewport.addEventListener('focus', () => { lastFocused = this.viewport; if (!this.hasSel && this.n) { this.hasSel = true; this.paint(); } });
    this.body.addEventListener('mousedown', e => {
      const p = this.cellAt(e.target);
      if (!p || e.button !== 0) return;
      if (e.shiftKey && this.hasSel) this.cur = p;
      else { this.cur = p; this.anchor = { ...p }; }
      this.hasSel = true;
      this.dragging = true;
      this.paint();
      this.viewport.focus({ preventScroll: true });
      e.preventDefault();
    });
    this.body.addEventListener('mouseover', e => {
      if (!this.dragging) return;
      const p = this.cellAt(e.target);
      if (p && (p.r !== this.cur.r || p.c !== this.cur.c)) { this.cur = p; this.paint(); }
    });
    window.addEventListener('mouseup', () => { this.dragging = false; });
    this.body.addEventListener('dblclick', e => { const p = this.cellAt(e.target); if (p) this.openViewer(p); });
    this.body.addEventListener('contextmenu', e => {
      const p = this.cellAt(e.target);
      if (p && !this.inRange(p.r, p.c)) { this.cur = p; this.anchor = { ...p }; this.hasSel = true; this.paint(); }
      e.preventDefault();
      this.openMenu(e.clientX, e.clientY);
    });
    // the context menu key or Shift+F10 on the focused grid: the menu opens at the active cell
    this.viewport.addEventListener('contextmenu', e => {
      if (this.cellAt(e.target)) return;
      e.preventDefault();
      this.openMenuAtCursor();
    });
    new ResizeObserver(() => this.paint()).observe(this.viewport);
    this.buildHeader();
    this.updateStatus();
  }

  private readonly chartBox = el('section', 'chart-panel');

  /** The chart panel: kind, columns, and the SVG drawn from the rows in their current order (filter and sort apply). */
  private toggleChart(button: HTMLElement): void {
    const open = this.chartBox.hidden;
    this.chartBox.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    if (!open || this.chartBox.childElementCount) { if (open) this.drawChart(); return; }
    const numeric = this.names.map((_, j) => { for (let i = 0; i < Math.min(this.table.numRows, 50); i++) { const v = this.cols[j].get(i); if (v !== null && v !== undefined) return toNumber(v) !== undefined && typeof v !== 'boolean'; } return false; });
    const select = (label: string, cls: string, options: [string, string][], value: string) => {
      const wrap = el('label', 'chart-field', label);
      const sel = el('select', cls);
      for (const [v, t] of options) { const o = el('option', '', t); o.value = v; sel.append(o); }
      sel.value = value;
      sel.addEventListener('change', () => this.drawChart());
      wrap.append(sel);
      return wrap;
    };
    const yDefault = String(Math.max(0, numeric.indexOf(true)));
    const xDefault = String(Math.max(0, numeric.indexOf(false)));
    const controls = el('div', 'chart-controls');
    controls.append(
      select('Chart ', 'chart-kind', [['bar', 'Bar'], ['line', 'Line'], ['histogram', 'Histogram']], 'bar'),
      select(' x ', 'chart-x', [['-1', '(row order)'], ...this.names.map((n, j): [string, string] => [String(j), n])], xDefault),
      select(' y ', 'chart-y', this.names.map((n, j): [string, string] => [String(j), `${n}${numeric[j] ? '' : ' (not numeric)'}`]), yDefault));
    this.chartBox.append(controls, el('div', 'chart-area'));
    this.drawChart();
  }

  private drawChart(): void {
    const kind = (this.chartBox.querySelector<HTMLSelectElement>('.chart-kind')?.value ?? 'bar') as ChartKind;
    const xj = Number(this.chartBox.querySelector<HTMLSelectElement>('.chart-x')?.value ?? -1);
    const yj = Number(this.chartBox.querySelector<HTMLSelectElement>('.chart-y')?.value ?? 0);
    const area = this.chartBox.querySelector('.chart-area')!;
    const draw = (xs: unknown[], ys: unknown[]) => {
      const out = drawChart({ kind, xName: xj >= 0 ? this.names[xj] : '', yName: this.names[yj], x: xs, y: ys }, this.chartWidth());
      area.replaceChildren(typeof out === 'string' ? el('p', 'dim', out) : out);
    };
    if (!this.paged) {
      const xs: unknown[] = []; const ys: unknown[] = [];
      for (let r = 0; r < this.order.length; r++) {
        const src = this.order[r];
        xs.push(xj >= 0 ? this.cols[xj].get(src) : r + 1);
        ys.push(this.cols[yj].get(src));
      }
      draw(xs, ys);
      return;
    }
    // a paged result: the store computes the chart over every row (in the grid's order and filter) and sends
    // bins, points or the first bars; the note says what is drawn
    const gen = ++this.chartGen;
    const scope = this.search ? 'rows that match the filter' : 'rows';
    area.replaceChildren(el('p', 'dim chart-note', `Drawing from all ${fmt(this.n)} ${scope}…`));
    void ask({ type: 'chart', table: this.index, kind, x: xj >= 0 ? this.names[xj] : undefined, y: this.names[yj], bars: CHART_BARS,
      search: this.search || undefined, ...(this.sortCol >= 0 ? { column: this.names[this.sortCol], desc: this.sortDir < 0 } : {}) }).then(m => {
      if (gen !== this.chartGen) return;
      const c = m.chart;
      if (m.error || !c) { area.replaceChildren(el('p', 'dim chart-note', m.error ?? 'The chart could not be computed.')); return; }
      // (the grid's order matters where the rows' order is drawn: bars, and a line over the row number)
      const ordered = this.sortCol >= 0 && (c.kind === 'bar' || (c.kind === 'line' && xj < 0));
      const all = `all ${fmt(c.rows)} ${scope}${ordered ? ` in the grid's order (by ${this.names[this.sortCol]})` : ''}`;
      if (c.kind === 'histogram') {
        const out = drawChart({ kind, xName: '', yName: this.names[yj], x: [], y: [], bins: { min: c.min, max: c.max, counts: c.bins } }, this.chartWidth());
        area.replaceChildren(typeof out === 'string' ? el('p', 'dim', out) : out);
        area.append(el('p', 'dim chart-note', `Over ${all}: ${fmt(c.values)} numeric values of ${this.names[yj]} in ${c.bins.length} bins (exact counts).`));
      } else if (c.kind === 'line') {
        const out = drawChart({ kind, xName: xj >= 0 ? this.names[xj] : '', yName: this.names[yj], x: [], y: [], points: c.points }, this.chartWidth());
        area.replaceChildren(typeof out === 'string' ? el('p', 'dim', out) : out);
        area.append(el('p', 'dim chart-note', c.buckets
          ? `Over ${all}: ${fmt(c.values)} points, drawn as ${fmt(c.points.length)} points: the minimum and maximum of ${this.names[yj]} in each of ${fmt(c.buckets)} equal ranges of ${xj >= 0 ? this.names[xj] : 'the row number'}.`
          : `Over ${all}: every one of its ${fmt(c.values)} points.`));
      } else {
        const out = drawChart({ kind, xName: xj >= 0 ? this.names[xj] : '', yName: this.names[yj], x: c.labels, y: c.values, total: c.rows }, this.chartWidth());
        area.replaceChildren(typeof out === 'string' ? el('p', 'dim', out) : out);
        area.append(el('p', 'dim chart-note', c.rows > c.labels.length
          ? `The first ${fmt(c.labels.length)} of ${fmt(c.rows)} bars (one per row, ${this.sortCol >= 0 ? `in the grid's order by ${this.names[this.sortCol]}` : 'in the result\'s order'}${this.search ? ', of the rows that match the filter' : ''}).`
          : `Over ${all}.`));
      }
    });
  }

  private chartGen = 0;
  private chartWidth(): number { return Math.max(360, Math.min(1100, this.viewport.clientWidth || 720)); }

  private cellAt(t: EventTarget | null): Pos | undefined {
    const cell = (t as HTMLElement | null)?.closest?.('.cell') as HTMLElement | null;
    if (!cell || cell.dataset.r === undefined) return undefined;
    return { r: Number(cell.dataset.r), c: Number(cell.dataset.c) };
  }

  private range(): { r0: number; r1: number; c0: number; c1: number } {
    const a = this.anchor; const b = this.cur;
    return { r0: Math.max(0, Math.min(a.r, b.r)), r1: Math.max(a.r, b.r), c0: Math.min(a.c, b.c), c1: Math.max(a.c, b.c) };
  }

  private inRange(r: number, c: number): boolean {
    if (!this.hasSel || this.cur.r < 0) return false;
    const g = this.range();
    return r >= g.r0 && r <= g.r1 && c >= g.c0 && c <= g.c1;
  }

  private onKey(e: KeyboardEvent): void {
    const n = this.n;
    const last = this.cols.length - 1;
    const ctrl = e.ctrlKey || e.metaKey;
    const page = Math.max(1, Math.floor((this.viewport.clientHeight - this.headRow.offsetHeight) / ROW_H) - 1);
    let to: Pos | undefined;
    const { r, c } = this.cur;
    switch (e.key) {
      case 'ArrowDown': to = { r: ctrl ? n - 1 : Math.min(n - 1, r + 1), c }; break;
      case 'ArrowUp': to = { r: ctrl ? 0 : Math.max(e.shiftKey ? 0 : -1, r - 1), c }; break;
      case 'ArrowRight': to = { r, c: ctrl ? last : Math.min(last, c + 1) }; break;
      case 'ArrowLeft': to = { r, c: ctrl ? 0 : Math.max(0, c - 1) }; break;
      case 'Home': to = ctrl ? { r: 0, c: 0 } : { r, c: 0 }; break;
      case 'End': to = ctrl ? { r: n - 1, c: last } : { r, c: last }; break;
      case 'PageDown': to = { r: Math.min(n - 1, Math.max(0, r) + page), c }; break;
      case 'PageUp': to = { r: Math.max(0, r - page), c }; break;
      default: break;
    }
    if (to) {
      e.preventDefault();
      if (!n) return;
      if (to.r < 0 && !e.shiftKey) to.r = -1;
      this.cur = to;
      if (!e.shiftKey || r < 0 || to.r < 0) this.anchor = { ...to };
      this.hasSel = true;
      this.scrollIntoView(to);
      this.paint();
      return;
    }
    if (ctrl && (e.key === 'a' || e.key === 'A')) {
      e.preventDefault();
      if (!n) return;
      this.anchor = { r: 0, c: 0 }; this.cur = { r: n - 1, c: last }; this.hasSel = true;
      this.paint();
      return;
    }
    if (ctrl && (e.key === 'c' || e.key === 'C')) { e.preventDefault(); void this.copy('tsv'); return; }
    if ((e.key === 'Enter' || e.key === ' ') && r < 0) { e.preventDefault(); this.sortBy(c); return; }
    if ((e.key === 'Enter' || e.key === 'F2') && this.hasSel && r >= 0) { e.preventDefault(); this.openViewer(this.cur); return; }
    if (e.key === 'ContextMenu' || (e.shiftKey && e.key === 'F10')) {
      e.preventDefault();
      this.openMenuAtCursor();
      return;
    }
    if (e.key === 'Escape' && this.hasSel) { this.anchor = { ...this.cur }; this.paint(); }
  }

  /** The scroll geometry: rows visible, the first (fractional) row at a scroll position, and back. Up to MAX_PX a
   *  row is ROW_H pixels; past it the scrollbar is scaled so that it still covers every row. */
  private geometry(): { visible: number; maxTop: number; scaled: boolean; rowAt: (top: number) => number; topOf: (row: number) => number } {
    const n = this.n;
    const vh = Math.max(ROW_H, (this.viewport.clientHeight || 400) - this.headRow.offsetHeight);
    const visible = vh / ROW_H;
    const full = n * ROW_H;
    if (full <= MAX_PX) return { visible, maxTop: Math.max(0, full - vh), scaled: false, rowAt: t => t / ROW_H, topOf: r => r * ROW_H };
    const maxTop = MAX_PX - vh;
    const rows = Math.max(1, n - visible);
    return { visible, maxTop, scaled: true, rowAt: t => (Math.min(t, maxTop) / maxTop) * rows, topOf: r => (Math.min(r, rows) / rows) * maxTop };
  }

  private scrollIntoView(p: Pos): void {
    const vp = this.viewport;
    if (p.r >= 0) {
      const g = this.geometry();
      const at = g.rowAt(vp.scrollTop);
      if (p.r < at) vp.scrollTop = g.topOf(p.r);
      else if (p.r + 1 > at + g.visible) vp.scrollTop = g.scaled ? Math.ceil(g.topOf(p.r + 1 - g.visible)) : (p.r + 1) * ROW_H - g.visible * ROW_H;
    }
    let left = 0;
    for (let j = 0; j < p.c; j++) left += this.widths[j];
    const w = this.widths[p.c] ?? 0;
    if (left < vp.scrollLeft) vp.scrollLeft = left;
    else if (left + w > vp.scrollLeft + vp.clientWidth) vp.scrollLeft = Math.min(left, left + w - vp.clientWidth);
  }

  /** The selected range in display order, as text of the chosen format, to the clipboard (through the extension). */
  private async copy(format: CopyFormat): Promise<void> {
    if (!this.hasSel || !this.n) return;
    const g = this.cur.r < 0 ? { r0: 0, r1: this.n - 1, c0: this.cur.c, c1: this.cur.c } : this.range();
    // a paged grid: the rows not loaded come from the store first
    if (this.paged && g.r1 - g.r0 > BLOCK) this.flash(`Copying ${fmt(g.r1 - g.r0 + 1)} rows…`);
    const rows = await this.rowsOf(g.r0, g.r1, g.c0, g.c1);
    if (!rows) return;
    const text = formatRange(format, this.names.slice(g.c0, g.c1 + 1), rows);
    vscode.postMessage({ type: 'copy', text, format, rows: rows.length, columns: g.c1 - g.c0 + 1 });
    this.flash(`Copied ${fmt(rows.length)} × ${g.c1 - g.c0 + 1} as ${format === 'markdown' ? 'Markdown' : format.toUpperCase()}`);
  }

  private flashTimer = 0;
  private flash(msg: string): void {
    this.status.textContent = msg;
    this.status.setAttribute('role', 'status');
    clearTimeout(this.flashTimer);
    this.flashTimer = window.setTimeout(() => this.updateStatus(), 2500);
  }

  private openMenuAtCursor(): void {
    const cell = this.body.querySelector<HTMLElement>('.cell.cur');
    const b = (cell ?? this.viewport).getBoundingClientRect();
    this.openMenu(b.left + 8, b.bottom);
  }

  private openMenu(x: number, y: number): void {
    closeMenus();
    const menu = el('div', 'menu');
    menu.setAttribute('role', 'menu');
    menu.setAttribute('aria-label', 'Copy the selection');
    const items: [string, CopyFormat][] = [['Copy as TSV (Ctrl+C)', 'tsv'], ['Copy as CSV', 'csv'], ['Copy as Markdown', 'markdown'], ['Copy as JSON', 'json']];
    const buttons = items.map(([label, f]) => {
      const b = el('button', 'menu-item', label);
      b.setAttribute('role', 'menuitem');
      b.tabIndex = -1;
      b.addEventListener('click', () => { closeMenus(); void this.copy(f); this.viewport.focus(); });
      menu.append(b);
      return b;
    });
    menu.addEventListener('keydown', e => {
      const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
      if (e.key === 'ArrowDown') { buttons[(i + 1) % buttons.length].focus(); e.preventDefault(); }
      else if (e.key === 'ArrowUp') { buttons[(i - 1 + buttons.length) % buttons.length].focus(); e.preventDefault(); }
      else if (e.key === 'Escape' || e.key === 'Tab') { closeMenus(); this.viewport.focus(); e.preventDefault(); }
    });
    document.body.append(menu);
    const r = menu.getBoundingClientRect();
    menu.style.left = `${Math.max(0, Math.min(x, window.innerWidth - r.width - 4))}px`;
    menu.style.top = `${Math.max(0, Math.min(y, window.innerHeight - r.height - 4))}px`;
    buttons[0].focus();
  }

  /** The whole value of a cell: JSON pretty-printed (exactly), binary as a hex dump, text wrapped; with Copy. */
  private openViewer(p: Pos): void {
    if (p.r < 0 || p.r >= this.n) return;
    const v = this.value(p.r, p.c);
    if (v === MISSING) { void this.rowsOf(p.r, p.r, p.c, p.c).then(rows => { if (rows) this.showViewer(p, rows[0][0]); }); return; }
    this.showViewer(p, v);
  }

  private showViewer(p: Pos, v: unknown): void {
    const type = this.meta.columns[p.c]?.type ?? String(this.table.schema.fields[p.c].type);
    const raw = v === null || v === undefined ? '' : cellString(v);
    let shown = v === null || v === undefined ? 'NULL' : raw;
    let how = 'text';
    if (typeof v === 'string' && (/^jsonb?$/i.test(type) || /^\s*[[{]/.test(v))) {
      try { shown = prettyJson(parseJsonExact(v)); how = 'JSON, pretty-printed'; } catch { /* not JSON: shown as text */ }
    } else if (typeof v === 'string' && /bytea|binary|blob/i.test(type) && /^\\x([0-9a-f]{2})*$/i.test(v)) {
      shown = hexDump(v.slice(2)); how = `binary, ${fmt((v.length - 2) / 2)} bytes as hex`;
    }
    closeMenus();
    const back = el('div', 'viewer-backdrop');
    const dlg = el('div', 'viewer');
    dlg.setAttribute('role', 'dialog');
    dlg.setAttribute('aria-modal', 'true');
    dlg.setAttribute('aria-label', `Value of ${this.names[p.c]}, row ${p.r + 1}`);
    const head = el('div', 'viewer-head');
    head.append(el('span', 'viewer-title', `${this.names[p.c]} · row ${fmt(p.r + 1)}`), el('span', 'viewer-meta', `${type} · ${how} · ${fmt(raw.length)} characters`));
    const body = el('pre', `viewer-body${how.startsWith('binary') ? ' hex' : ''}`, shown);
    body.tabIndex = 0;
    const actions = el('div', 'viewer-actions');
    const copy = custom('vscode-button', {}, 'Copy value');
    copy.addEventListener('click', () => { vscode.postMessage({ type: 'copy', text: raw, format: 'value' }); this.flash('Copied the value'); });
    const close = custom('vscode-button', { secondary: '' }, 'Close');
    const done = () => { back.remove(); this.viewport.focus(); };
    close.addEventListener('click', done);
    back.addEventListener('mousedown', e => { if (e.target === back) done(); });
    dlg.addEventListener('keydown', e => { if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); done(); } });
    actions.append(copy, close);
    dlg.append(head, body, actions);
    back.append(dlg);
    document.body.append(back);
    body.focus();
  }

  private buildHeader(): void {
    this.headInner.replaceChildren();
    this.headInner.style.width = `${this.totalWidth()}px`;
    this.statEls = [];
    this.names.forEach((n, j) => {
      const h = el('div', 'hcell');
      h.id = `${this.uid}-h${j}`;
      h.setAttribute('role', 'columnheader');
      h.setAttribute('aria-colindex', String(j + 1));
      // (rows that came sorted from the server show that order until a sort here)
      const on = this.sortCol === j ? this.sortDir : this.sortCol < 0 && this.serverOrder?.col === j ? (this.serverOrder.desc ? -1 : 1) : 0;
      h.setAttribute('aria-sort', on ? (on > 0 ? 'ascending' : 'descending') : 'none');
      h.style.width = `${this.widths[j]}px`;
      const arrow = on ? (on > 0 ? ' ▲' : ' ▼') : '';
      h.append(el('div', 'hname', n + arrow), el('div', 'htype', this.meta.columns[j]?.type ?? String(this.table.schema.fields[j].type)));
      const st = el('div', 'hstats', '…');
      this.statEls.push(st);
      h.append(st);
      h.title = `${n}: click to sort`;
      h.addEventListener('click', () => this.sortBy(j));
      const grip = el('div', 'resizer');
      grip.setAttribute('aria-hidden', 'true');
      grip.title = 'Drag to resize; double-click to fit';
      grip.addEventListener('click', e => e.stopPropagation());
      grip.addEventListener('dblclick', e => { e.stopPropagation(); this.fit(j); });
      grip.addEventListener('mousedown', e => {
        e.preventDefault(); e.stopPropagation();
        const x0 = e.clientX; const w0 = this.widths[j];
        const move = (m: MouseEvent) => this.setWidth(j, w0 + m.clientX - x0);
        const up = () => { window.removeEventListener('mousemove', move); window.removeEventListener('mouseup', up); };
        window.addEventListener('mousemove', move);
        window.addEventListener('mouseup', up);
      });
      h.append(grip);
      this.headInner.append(h);
    });
    this.stats.forEach((s, j) => { if (s) this.showStats(j, s); });
  }

  private setWidth(j: number, w: number): void {
    this.widths[j] = Math.max(40, Math.round(w));
    const h = this.headInner.children[j] as HTMLElement | undefined;
    if (h) h.style.width = `${this.widths[j]}px`;
    this.headInner.style.width = `${this.totalWidth()}px`;
    this.paint();
  }

  /** Fits a column to its widest value (all rows up to 50,000, then a sample), header included. A paged grid asks the
   *  store for the column's longest text over the whole result (the loaded windows are a part of it). */
  private fit(j: number): void {
    if (!this.paged || this.gone) { this.fitTo(j); return; }
    // (over every row, whatever the filter: as a grid that holds its whole result measures all its rows)
    void ask({ type: 'widest', table: this.index, column: this.names[j] }).then(m => {
      if (m.error) this.showGone(m.error);
      this.fitTo(j, m.widest);
    });
  }

  private fitTo(j: number, widest?: string): void {
    const fontOf = (e: Element) => { const st = getComputedStyle(e); return `${st.fontStyle} ${st.fontWeight} ${st.fontSize} ${st.fontFamily}`; };
    const probe = this.body.querySelector<HTMLElement>('.cell') ?? this.viewport;
    const font = fontOf(probe);
    const head = this.headInner.children[j] as HTMLElement | undefined;
    const hfont = head ? fontOf(head.querySelector('.hname')!) : font;
    let w = Math.max(textWidth(this.names[j] + ' ▲', hfont), textWidth(this.meta.columns[j]?.type ?? '', hfont) * 0.8);
    let longest = '';
    // the widest value of the whole result (a paged grid), and the rows held (a paged grid: the windows loaded)
    if (widest) { const tw = textWidth(widest, font); if (tw > w) { w = tw; longest = widest; } }
    for (const col of [this.cols[j], ...[...this.blocks.values()].map(b => b[j])]) {
      const n = col.length;
      const step = n > 50_000 ? Math.ceil(n / 50_000) : 1;
      for (let i = 0; i < n; i += step) {
        const s = cellString(col.get(i));
        if (s.length > longest.length * 0.8) { const tw = textWidth(s.length > 2000 ? s.slice(0, 2000) : s, font); if (tw > w) { w = tw; longest = s; } }
      }
    }
    let px = Math.ceil(w) + 16;
    if (longest) {
      // the canvas may not know the editor font: the widest value is measured once in the page as well
      const probeCell = el('div', 'cell', longest.length > 2000 ? longest.slice(0, 2000) : longest);
      probeCell.style.cssText = 'position:absolute;visibility:hidden;width:auto;overflow:visible';
      this.body.append(probeCell);
      px = Math.max(px, Math.ceil(probeCell.getBoundingClientRect().width) + 2);
      probeCell.remove();
    }
    this.setWidth(j, Math.min(4000, px));
  }

  /** Bumped whenever the rows' order or content changes (sort, filter, the whole table arriving). */
  private version = 0;
  private paintKey = '';

  private totalWidth(): number { return this.widths.reduce((a, b) => a + b, 0); }

  paint(): void {
    const n = this.n;
    this.viewport.setAttribute('aria-rowcount', String(n + 1));
    this.spacer.style.height = `${Math.min(n * ROW_H, MAX_PX)}px`;
    this.spacer.style.width = `${this.totalWidth()}px`;
    const top = this.viewport.scrollTop;
    const g = this.geometry();
    const at = g.rowAt(top);
    const first = Math.max(0, Math.floor(at) - 5);
    const last = Math.min(n, Math.ceil(at + g.visible) + 5);
    // the same rows, widths, order and selection: keep the elements (a sideways scroll must not replace the cell
    // under a double-click)
    const key = [first, last, this.version, this.hasSel, this.cur.r, this.cur.c, this.anchor.r, this.anchor.c, this.widths.join(',')].join('|');
    if (key === this.paintKey) return;
    this.paintKey = key;
    // (scaled: the rows sit where the scroll position says, not at row × ROW_H)
    this.body.style.transform = `translateY(${g.scaled ? Math.max(0, top - (at - first) * ROW_H) : first * ROW_H}px)`;
    const rows: HTMLElement[] = [];
    let active = '';
    for (let r = first; r < last; r++) {
      const row = el('div', r % 2 ? 'row odd' : 'row');
      row.dataset.row = String(r);
      row.setAttribute('role', 'row');
      row.setAttribute('aria-rowindex', String(r + 2));
      for (let c = 0; c < this.cols.length; c++) {
        const v = this.value(r, c);
        if (v === MISSING) this.load(Math.floor(r / BLOCK));
        const text = v === MISSING ? '' : cellString(v);
        const cell = el('div', v === MISSING ? (this.gone ? 'cell' : 'cell loading') : v === null || v === undefined ? 'cell null' : typeof v === 'number' || typeof v === 'bigint' ? 'cell num' : 'cell', text);
        cell.style.width = `${this.widths[c]}px`;
        cell.dataset.r = String(r);
        cell.dataset.c = String(c);
        cell.setAttribute('role', 'gridcell');
        cell.setAttribute('aria-colindex', String(c + 1));
        // the full value on hover (a very long one is cut here: the value viewer shows it whole)
        cell.title = text.length > 4000 ? `${text.slice(0, 4000)}… (${fmt(text.length)} characters: double-click or Enter shows all)` : text;
        const sel = this.inRange(r, c);
        cell.setAttribute('aria-selected', String(sel));
        if (sel) cell.classList.add('sel');
        if (this.hasSel && this.cur.r === r && this.cur.c === c) {
          cell.classList.add('cur');
          cell.id = `${this.uid}-cur`;
          active = cell.id;
        }
        row.append(cell);
      }
      rows.push(row);
    }
    this.body.replaceChildren(...rows);
    for (const h of this.headInner.children) h.classList.remove('cur');
    if (this.hasSel && this.cur.r < 0) {
      const h = this.headInner.children[this.cur.c] as HTMLElement | undefined;
      if (h) { h.classList.add('cur'); active = h.id; }
    }
    if (active) this.viewport.setAttribute('aria-activedescendant', active);
    else this.viewport.removeAttribute('aria-activedescendant');
  }

  private updateStatus(): void {
    this.status.removeAttribute('role');
    if (this.gone) { this.status.textContent = this.gone; return; }
    const total = this.held;
    const shown = this.n;
    if (this.meta.loading) {
      this.status.setAttribute('role', 'status');
      this.status.textContent = `Loading… ${fmt(total)} rows so far · ${this.cols.length} columns · a sort, filter or column statistics wait until every row has arrived, then cover them all`;
      return;
    }
    if (this.meta.failed) {
      const scope = this.sortCol < 0 ? '' : ` · sorted by ${this.names[this.sortCol]}${this.sortDir < 0 ? ' descending' : ''} over these ${fmt(total)} rows`;
      this.status.textContent = `${shown === total ? fmt(total) : `${fmt(shown)} of ${fmt(total)} (filtered)`} rows received before the query stopped, not the whole result (${this.meta.failed}) · ${this.cols.length} columns${scope} · sort, filter and statistics cover these rows`;
      return;
    }
    // a filter that leaves no rows says so in the grid (and what it looked through)
    const q = this.filterText;
    const none = shown === 0 && !this.meta.loading;
    const rel = this.preview?.relation;
    const among = this.serverSort ? ` among the first ${fmt(total)} rows of ${rel} (the table has ${this.meta.totalRows !== undefined ? fmt(this.meta.totalRows) : 'more'}: the button below filters all of them on the server)`
      : this.filePreview && this.meta.truncated ? ` among the first ${fmt(total)} rows of the file`
      : this.meta.truncated ? ` among the ${fmt(total)} rows held (not the whole query)` : rel ? ` in any of the ${fmt(total)} rows of ${rel}` : ` in any of the ${fmt(total)} rows`;
    this.empty.hidden = !none || (!q && !this.preview?.search);
    this.empty.textContent = q ? `No rows match “${q}”${among}.` : this.preview?.search ? `No rows of ${rel} contain “${this.preview.search}” (filtered on the server, over the whole table).` : '';
    if (this.serverSort || this.preview?.search) {
      const all = this.meta.totalRows !== undefined ? fmt(this.meta.totalRows) : 'more';
      this.serverFilterBtn.hidden = !q && !this.preview?.search;
      this.serverFilterBtn.textContent = q ? `Filter the whole table for “${q}” on the server` : `Show the whole table again (clear the server filter “${this.preview!.search}”)`;
      if (q && this.serverSort) this.serverFilterBtn.setAttribute('title', `Runs the preview of ${rel} again with only its rows that contain “${q}” in any column (all ${all} rows, not only the ${fmt(total)} held)`);
    }
    const contain = this.preview?.search ? ` that contain${total === 1 && !this.meta.truncated ? 's' : ''} “${this.preview.search}” (filtered on the server)` : '';
    if (this.preview && !this.meta.truncated) {
      // the whole table (or all of its rows that matched the server filter): everything covers every row
      const sorted = this.sortCol < 0 ? '' : ` · sorted by ${this.names[this.sortCol]}${this.sortDir < 0 ? ' descending' : ''}`;
      this.status.textContent = `${shown === total ? `${total === 1 ? 'The one row' : `All ${fmt(total)} rows`} of ${rel}${contain}` : `${fmt(shown)} of all ${fmt(total)} rows of ${rel}${contain} match the filter`}`
        + ` · ${this.cols.length} columns${sorted} · sort, filter, column statistics and export cover ${total === 1 ? 'it' : `all ${fmt(total)} rows`} · arrows move, Shift extends, Ctrl+C copies (TSV), Enter shows a value`;
      return;
    }
    if (this.serverSort) {
      const all = this.meta.totalRows !== undefined ? `${fmt(this.meta.totalRows)}` : 'more';
      const ob = this.serverSort.orderBy;
      this.status.textContent = `First ${fmt(total)} of ${all} rows${contain} (preview)${shown === total ? '' : ` · ${fmt(shown)} of these match the filter`}`
        + (ob ? ` · sorted by ${ob.column}${ob.desc ? ' descending' : ''} over all ${all} rows on the server` : ' · a click on a column sorts the whole table on the server')
        + ` · the filter, the column statistics and an export cover these ${fmt(total)} rows, not the whole table`;
      return;
    }
    if (this.filePreview && this.meta.truncated) {
      const all = this.meta.totalRows !== undefined ? fmt(this.meta.totalRows) : 'more';
      const scope = this.sortCol < 0 ? '' : ` · sorted by ${this.names[this.sortCol]}${this.sortDir < 0 ? ' descending' : ''} over these ${fmt(total)} rows, not the whole file`;
      this.status.textContent = `First ${fmt(total)} of ${all} rows (preview)${shown === total ? '' : ` · ${fmt(shown)} of these match the filter`} · ${this.cols.length} columns${scope} · the filter and the column statistics cover these ${fmt(total)} rows`;
      return;
    }
    const more = this.meta.truncated ? (this.meta.totalRows !== undefined ? ` of ${fmt(this.meta.totalRows)} (truncated)` : ` (truncated: the first ${fmt(total)} of at least ${fmt(total + 1)})`) : '';
    // which rows a sort ordered: the whole result, or only the rows a cut result holds
    const over = this.meta.truncated ? `the ${fmt(total)} rows held, not the whole query` : `all ${fmt(total)} rows`;
    // a paged grid holds windows, but its sort, filter and statistics run over every row in the store
    let scope = this.sortCol < 0 ? (this.paged ? ` · sort, filter and statistics over ${over}` : '') : ` · sorted by ${this.names[this.sortCol]}${this.sortDir < 0 ? ' descending' : ''} over ${over}`;
    const so = this.sortCol < 0 ? this.serverOrder : undefined;
    if (so) scope = ` · the first ${fmt(total)} rows of the whole query sorted by ${this.names[so.col]}${so.desc ? ' descending' : ''} on the server`;
    if (this.querySort) {
      // a sort here ordered the rows held only: the whole query can be sorted on the server
      this.serverBtn.hidden = this.sortCol < 0;
      if (this.sortCol >= 0) this.serverBtn.textContent = `Sort the whole query by ${this.names[this.sortCol]}${this.sortDir < 0 ? ' descending' : ''} on the server`;
    }
    this.status.textContent = `${shown === total ? fmt(total) : `${fmt(shown)} of ${fmt(total)} (filtered)`} rows${more} · ${this.cols.length} columns${scope} · arrows move, Shift extends, Ctrl+C copies (TSV), right-click for CSV/Markdown/JSON, Enter shows a value`;
  }

  private sortBy(j: number): void {
    if (this.serverSort) {
      // the preview holds the first rows only: the server sorts the whole table and sends its first rows
      const dir = this.sortCol === j ? (this.sortDir === 1 ? -1 : this.sortDir === -1 ? 0 : 1) : 1;
      vscode.postMessage(dir === 0 ? { type: 'serverSort' } : { type: 'serverSort', column: this.names[j], desc: dir < 0 });
      this.status.setAttribute('role', 'status');
      this.status.textContent = dir === 0 ? 'Loading the first rows in table order…'
        : `Sorting all ${this.meta.totalRows !== undefined ? `${fmt(this.meta.totalRows)} ` : ''}rows by ${this.names[j]} on the server…`;
      return;
    }
    this.version++;
    if (this.serverOrder) {
      // rows sorted by the server: a click on that column goes on from its order (ascending, then descending)
      if (this.sortCol < 0 && this.serverOrder.col === j) { this.sortCol = j; this.sortDir = this.serverOrder.desc ? -1 : 1; }
      this.serverOrder = undefined;
    }
    this.sortDir = this.sortCol === j ? (this.sortDir === 1 ? -1 : this.sortDir === -1 ? 0 : 1) : 1;
    this.sortCol = this.sortDir === 0 ? -1 : j;
    if (this.paged) {
      // the store sorts every row; the grid shows the first window of the new order when it arrives
      this.buildHeader();
      this.status.setAttribute('role', 'status');
      this.status.textContent = this.sortDir === 0 ? 'Loading the rows in their stored order…' : this.meta.loading ? `Sorting by ${this.names[j]} when every row has arrived (${fmt(this.held)} so far)…` : `Sorting all ${fmt(this.held)} rows by ${this.names[j]}${this.sortDir < 0 ? ' descending' : ''}…`;
      void this.reload().then(ok => { if (ok) this.refresh(); });
      return;
    }
    if (this.sortDir === 0) this.order = this.filtered ?? identity(this.table.numRows);
    else {
      const col = this.cols[j];
      const vals = new Array(this.table.numRows);
      for (let i = 0; i < vals.length; i++) vals[i] = col.get(i);
      const dir = this.sortDir;
      const cmp = comparator(this.meta.columns[j]?.type ?? '');
      const arr = Array.from(this.order);
      arr.sort((a, b) => {
        const x = vals[a]; const y = vals[b];
        if (x === y) return a - b;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return (cmp(x, y) || a - b) * dir;
      });
      this.order = Uint32Array.from(arr);
    }
    this.buildHeader();
    this.refresh();
  }

  private filtered: Uint32Array | undefined;

  /** The filter's text as typed (trimmed). */
  private filterText = '';

  private applyFilter(q: string): void {
    this.version++;
    this.filterText = q.trim();
    const needle = q.trim().toLowerCase();
    if (this.paged) {
      // the store filters every row (in any column, ignoring case) and keeps the sort
      this.search = needle;
      this.viewport.scrollTop = 0;
      this.hasSel = false;
      this.cur = { r: 0, c: 0 }; this.anchor = { r: 0, c: 0 };
      this.status.setAttribute('role', 'status');
      this.status.textContent = !needle ? 'Loading all rows…' : this.meta.loading ? `Filtering when every row has arrived (${fmt(this.held)} so far)…` : `Filtering all ${fmt(this.held)} rows…`;
      void this.reload().then(ok => { if (ok) this.refresh(); });
      return;
    }
    if (!needle) this.filtered = undefined;
    else {
      const out: number[] = [];
      for (let i = 0; i < this.table.numRows; i++) {
        for (let c = 0; c < this.cols.length; c++) {
          if (cellString(this.cols[c].get(i)).toLowerCase().includes(needle)) { out.push(i); break; }
        }
      }
      this.filtered = Uint32Array.from(out);
    }
    this.order = this.filtered ?? identity(this.table.numRows);
    // (a server-sorted preview's rows are already in order)
    if (this.sortCol >= 0 && !this.serverSort) { const c = this.sortCol; this.sortCol = -1; this.sortDir = 0; this.sortBy(c); }
    this.viewport.scrollTop = 0;
    this.hasSel = false;
    this.cur = { r: 0, c: 0 }; this.anchor = { r: 0, c: 0 };
    this.refresh();
  }

  /** Column statistics, computed after the first paint a column at a time so the grid shows at once. */
  private statsGen = 0;

  computeStatsLater(): void {
    const gen = ++this.statsGen;
    if (this.paged) {
      // over the whole result, by the store
      void ask({ type: 'stats', table: this.index }).then(m => {
        if (gen !== this.statsGen || !m.stats) return;
        m.stats.forEach((s, j) => { this.stats[j] = s; this.showStats(j, s); });
      });
      return;
    }
    let j = 0;
    const step = () => {
      if (gen !== this.statsGen || j >= this.cols.length) return;
      const s = columnStats(this.cols[j]);
      this.stats[j] = s;
      this.showStats(j, s);
      j++;
      setTimeout(step, 0);
    };
    setTimeout(step, 0);
  }

  private showStats(j: number, s: Stats): void {
    const e = this.statEls[j];
    if (!e) return;
    e.replaceChildren();
    const line = `${fmt(s.nulls)} null · ${s.distinctCapped ? '≥' : ''}${fmt(s.distinct)} distinct`;
    if (s.hist) {
      const h = el('div', 'hist');
      h.setAttribute('aria-hidden', 'true');
      const max = Math.max(...s.hist, 1);
      for (const b of s.hist) { const bar = el('div', 'bar'); bar.style.height = `${Math.round((b / max) * 100)}%`; h.append(bar); }
      e.append(h);
    }
    e.append(el('span', '', line));
    e.parentElement!.title = `${this.names[j]}\nnulls: ${fmt(s.nulls)}\ndistinct: ${s.distinctCapped ? '≥' : ''}${fmt(s.distinct)}${s.min !== undefined ? `\nmin: ${cellString(s.min)}\nmax: ${cellString(s.max)}` : ''}\nclick to sort`;
  }
}

// back from the command palette or another editor: the keys go to the grid the person was in
let lastFocused: HTMLElement | undefined;
window.addEventListener('focus', () => {
  if (lastFocused?.isConnected && (!document.activeElement || document.activeElement === document.body) && !document.querySelector('.viewer, .menu')) lastFocused.focus({ preventScroll: true });
});

// Ctrl+A in the grid selects its cells; the workbench also answers the key with "select all" on the page, which
// would paint every text of the view blue: while a grid has the focus, page text selections are dropped
document.addEventListener('selectionchange', () => {
  const sel = document.getSelection();
  if (sel && !sel.isCollapsed && (document.activeElement as HTMLElement | null)?.getAttribute('role') === 'grid') sel.removeAllRanges();
});

function closeMenus(): void { for (const m of document.querySelectorAll('.menu')) m.remove(); }
document.addEventListener('mousedown', e => { if (!(e.target as HTMLElement).closest?.('.menu')) closeMenus(); });

function hexDump(hex: string): string {
  const lines: string[] = [];
  for (let o = 0; o < hex.length / 2; o += 16) {
    const bytes: number[] = [];
    for (let k = o; k < Math.min(o + 16, hex.length / 2); k++) bytes.push(parseInt(hex.slice(k * 2, k * 2 + 2), 16));
    const hx = bytes.map(b => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = bytes.map(b => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${o.toString(16).padStart(8, '0')}  ${hx.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n') || '(0 bytes)';
}

function identity(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

function columnStats(col: Vector): Stats {
  let nulls = 0;
  const seen = new Set<unknown>();
  const CAP = 100_000;
  let min: unknown; let max: unknown;
  let numeric = true;
  for (let i = 0; i < col.length; i++) {
    const v = col.get(i);
    if (v === null || v === undefined) { nulls++; continue; }
    if (seen.size < CAP) seen.add(v);
    if (typeof v !== 'number') numeric = false;
    if (min === undefined || (v as number) < (min as number)) min = v;
    if (max === undefined || (v as number) > (max as number)) max = v;
  }
  let hist: number[] | undefined;
  if (numeric && min !== undefined && (max as number) > (min as number)) {
    hist = new Array(16).fill(0);
    const lo = min as number; const span = (max as number) - lo;
    for (let i = 0; i < col.length; i++) {
      const v = col.get(i) as number | null;
      if (v !== null && v !== undefined) hist[Math.min(15, Math.floor(((v - lo) / span) * 16))]++;
    }
  }
  return { nulls, distinct: seen.size, distinctCapped: seen.size >= CAP, min, max, hist };
}
