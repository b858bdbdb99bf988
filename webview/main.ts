// The result view: one panel type for every tool result. Tables arrive as Arrow IPC bytes and are shown in a
// virtualized grid; every value is written with textContent, never parsed as markup.
import { tableFromIPC, type Table, type Vector } from 'apache-arrow';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';

interface Column { name: string; type: string }
interface TableMeta { title?: string; columns: Column[]; rowCount: number; totalRows?: number; truncated: boolean; partial?: boolean }
type Part =
  | { kind: 'image'; mimeType: string; data: string; title?: string }
  | { kind: 'stream'; name: string; text: string; droppedBytes?: number }
  | { kind: 'error'; name: string; value: string; traceback: string }
  | { kind: 'file'; path: string; bytes?: number; description?: string }
  | { kind: 'html'; html: string }
  | { kind: 'json'; value: unknown }
  | { kind: 'table'; index: number };
interface ShowMessage { type: 'show'; id: string; tool: string; title: string; context?: string; text: string; isError: boolean; durationMs?: number; parts: Part[]; tables: TableMeta[]; ipc: Uint8Array[]; sentAt: number }

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

/** A cell exactly as the extension sent it: numbers with every digit (and -0), 64-bit integers as BigInt digits,
 *  everything else is already the value model's text (dates, timestamps, decimals), so no time zone or locale of
 *  the viewer enters. */
function cellString(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  return String(v);
}

/** Sort order within a column: decimals (sent as exact text) by their numeric value, the rest by JS order. */
function comparator(type: string): (x: unknown, y: unknown) => number {
  if (/^(numeric|decimal)/i.test(type)) {
    return (x, y) => { const a = Number(x); const b = Number(y); return a < b ? -1 : a > b ? 1 : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0; };
  }
  return (x, y) => ((x as number) < (y as number) ? -1 : (x as number) > (y as number) ? 1 : 0);
}

let shownId = '';
let grids: Grid[] = [];
window.addEventListener('message', (ev: MessageEvent) => {
  const m = ev.data as ShowMessage | { type: 'table'; id: string; index: number; ipc: Uint8Array; sentAt: number };
  if (m?.type === 'show') render(m);
  else if (m?.type === 'table' && m.id === shownId) {
    // the rest of a big table, after its first rows were painted
    const g = grids.find(x => x.index === m.index);
    if (g) {
      g.replace(tableFromIPC(m.ipc));
      vscode.postMessage({ type: 'painted', id: m.id, rows: g.table.numRows, ms: Date.now() - m.sentAt, complete: true });
    }
  }
});
vscode.postMessage({ type: 'ready' });

function render(m: ShowMessage): void {
  app.replaceChildren();
  shownId = m.id;
  const head = el('header', 'top');
  head.append(el('h1', '', m.title));
  const meta = el('div', 'meta');
  meta.append(custom('vscode-badge', { variant: 'counter' }, m.tool));
  if (m.context) meta.append(el('span', 'context', `on ${m.context}`));
  if (m.isError) meta.append(el('span', 'bad', 'error'));
  if (m.durationMs !== undefined) meta.append(el('span', 'dim', `${fmt(Math.round(m.durationMs))} ms`));
  head.append(meta);
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
      const g = new Grid(t, m.tables[p.index], p.index, m.parts.length > 1);
      grids.push(g);
      app.append(g.root);
    }
  }
  if (!m.parts.some(p => p.kind === 'table' || p.kind === 'image' || p.kind === 'stream' || p.kind === 'error')) {
    // a text-only result (describe_table, get_schema, errors): the text is the content
    app.append(el('pre', `text${m.isError ? ' bad' : ''}`, m.text));
  }
  const model = el('details', 'model');
  model.append(el('summary', '', 'What the model received'), el('pre', '', m.text));
  app.append(model);
  requestAnimationFrame(() => {
    for (const g of grids) g.paint();
    vscode.postMessage({ type: 'painted', id: m.id, rows: grids.reduce((s, g) => s + g.table.numRows, 0), total: m.tables.reduce((s, t) => s + t.rowCount, 0), ms: Date.now() - m.sentAt, complete: !m.tables.some(t => t.partial) });
    for (const g of grids) g.computeStatsLater();
  });
}

interface Stats { nulls: number; distinct: number; distinctCapped: boolean; min?: unknown; max?: unknown; hist?: number[] }

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
  private readonly status = el('div', 'status');
  private selected: { r: number; c: number } | undefined;
  private stats: (Stats | undefined)[] = [];
  private statEls: HTMLElement[] = [];
  private frame = 0;

  constructor(public table: Table, private readonly meta: TableMeta, readonly index: number, compact: boolean) {
    this.cols = table.schema.fields.map((_, i) => table.getChildAt(i)!);
    this.names = table.schema.fields.map(f => f.name);
    this.order = identity(table.numRows);
    this.widths = this.names.map((n, j) => {
      let w = Math.max(n.length, (meta.columns[j]?.type ?? '').length + 2);
      for (let i = 0; i < Math.min(table.numRows, 200); i++) w = Math.max(w, cellString(this.cols[j].get(i)).length);
      return Math.min(360, Math.max(70, w * 7.5 + 18));
    });
    const bar = el('div', 'toolbar');
    if (meta.title) bar.append(el('div', 'table-title', meta.title));
    const filter = custom('vscode-textfield', { placeholder: 'Filter rows (contains)…', class: 'filter' }) as HTMLElement & { value: string };
    let timer = 0;
    filter.addEventListener('input', () => { clearTimeout(timer); timer = window.setTimeout(() => this.applyFilter(filter.value), 200); });
    const csv = custom('vscode-button', { secondary: '' }, 'Export CSV');
    csv.addEventListener('click', () => vscode.postMessage({ type: 'export', table: this.index, format: 'csv' }));
    const pq = custom('vscode-button', { secondary: '' }, 'Export Parquet');
    pq.addEventListener('click', () => vscode.postMessage({ type: 'export', table: this.index, format: 'parquet' }));
    bar.append(filter, csv, pq);
    this.root.append(bar, this.headRow, this.viewport, this.status);
    this.viewport.append(this.spacer);
    this.spacer.append(this.body);
    if (compact) this.viewport.style.height = '45vh';
    this.viewport.tabIndex = 0;
    this.viewport.addEventListener('scroll', () => {
      this.headRow.scrollLeft = this.viewport.scrollLeft;
      if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.paint(); });
    });
    this.viewport.addEventListener('keydown', e => {
      if ((e.ctrlKey || e.metaKey) && e.key === 'c' && this.selected) {
        vscode.postMessage({ type: 'copy', text: cellString(this.cols[this.selected.c].get(this.order[this.selected.r])) });
        e.preventDefault();
      }
    });
    new ResizeObserver(() => this.paint()).observe(this.viewport);
    this.buildHeader();
    this.updateStatus();
  }

  private buildHeader(): void {
    this.headRow.replaceChildren();
    const inner = el('div', 'head-inner');
    inner.style.width = `${this.totalWidth()}px`;
    this.statEls = [];
    this.names.forEach((n, j) => {
      const h = el('div', 'hcell');
      h.style.width = `${this.widths[j]}px`;
      const arrow = this.sortCol === j ? (this.sortDir > 0 ? ' ▲' : ' ▼') : '';
      h.append(el('div', 'hname', n + arrow), el('div', 'htype', this.meta.columns[j]?.type ?? String(this.table.schema.fields[j].type)));
      const st = el('div', 'hstats', '…');
      this.statEls.push(st);
      h.append(st);
      h.title = `${n}: click to sort`;
      h.addEventListener('click', () => this.sortBy(j));
      inner.append(h);
    });
    this.headRow.append(inner);
    this.stats.forEach((s, j) => { if (s) this.showStats(j, s); });
  }

  private totalWidth(): number { return this.widths.reduce((a, b) => a + b, 0); }

  paint(): void {
    const n = this.order.length;
    this.spacer.style.height = `${n * ROW_H}px`;
    this.spacer.style.width = `${this.totalWidth()}px`;
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / ROW_H) - 5);
    const last = Math.min(n, Math.ceil((top + height) / ROW_H) + 5);
    this.body.style.transform = `translateY(${first * ROW_H}px)`;
    const rows: HTMLElement[] = [];
    for (let r = first; r < last; r++) {
      const src = this.order[r];
      const row = el('div', 'row');
      row.dataset.row = String(r);
      for (let c = 0; c < this.cols.length; c++) {
        const v = this.cols[c].get(src);
        const cell = el('div', v === null || v === undefined ? 'cell null' : typeof v === 'number' || typeof v === 'bigint' ? 'cell num' : 'cell', cellString(v));
        cell.style.width = `${this.widths[c]}px`;
        if (this.selected && this.selected.r === r && this.selected.c === c) cell.classList.add('sel');
        cell.addEventListener('click', () => { this.selected = { r, c }; this.paint(); this.viewport.focus(); });
        row.append(cell);
      }
      rows.push(row);
    }
    this.body.replaceChildren(...rows);
  }

  /** Swaps in the whole table once it arrives; sorting and filtering start over on it. */
  replace(t: Table): void {
    this.table = t;
    this.cols = t.schema.fields.map((_, i) => t.getChildAt(i)!);
    this.meta.partial = false;
    this.filtered = undefined;
    this.sortCol = -1; this.sortDir = 0;
    this.order = identity(t.numRows);
    this.stats = [];
    this.buildHeader();
    this.updateStatus();
    this.paint();
    this.computeStatsLater();
  }

  private updateStatus(): void {
    if (this.meta.partial) {
      this.status.textContent = `First ${fmt(this.table.numRows)} of ${fmt(this.meta.rowCount)} rows shown · loading the rest…`;
      return;
    }
    const total = this.table.numRows;
    const shown = this.order.length;
    const more = this.meta.truncated ? (this.meta.totalRows !== undefined ? ` of ${fmt(this.meta.totalRows)} (truncated)` : ' (truncated: more rows exist)') : '';
    this.status.textContent = `${shown === total ? fmt(total) : `${fmt(shown)} of ${fmt(total)} (filtered)`} rows${more} · ${this.cols.length} columns · click a cell, Ctrl+C copies`;
  }

  private sortBy(j: number): void {
    this.sortDir = this.sortCol === j ? (this.sortDir === 1 ? -1 : this.sortDir === -1 ? 0 : 1) : 1;
    this.sortCol = this.sortDir === 0 ? -1 : j;
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
    this.paint();
  }

  private filtered: Uint32Array | undefined;

  private applyFilter(q: string): void {
    const needle = q.trim().toLowerCase();
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
    if (this.sortCol >= 0) { const c = this.sortCol; this.sortCol = -1; this.sortDir = 0; this.sortBy(c); }
    this.viewport.scrollTop = 0;
    this.updateStatus();
    this.paint();
  }

  /** Column statistics, computed after the first paint a column at a time so the grid shows at once. */
  private statsGen = 0;

  computeStatsLater(): void {
    if (this.meta.partial) return; // stats of the first rows only would mislead: wait for the whole table
    const gen = ++this.statsGen;
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
      const max = Math.max(...s.hist, 1);
      for (const b of s.hist) { const bar = el('div', 'bar'); bar.style.height = `${Math.round((b / max) * 100)}%`; h.append(bar); }
      e.append(h);
    }
    e.append(el('span', '', line));
    e.parentElement!.title = `${this.names[j]}\nnulls: ${fmt(s.nulls)}\ndistinct: ${s.distinctCapped ? '≥' : ''}${fmt(s.distinct)}${s.min !== undefined ? `\nmin: ${cellString(s.min)}\nmax: ${cellString(s.max)}` : ''}\nclick to sort`;
  }
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
