/** Chart data and column widths over a WHOLE stored result (issue 15): the grid holds windows of a big result, so a
 *  chart or a fitted column width computed from its loaded rows would describe only those. These helpers read every
 *  row of the result store (in the grid's order and filter) and answer with a bounded reply: bins, points or bars,
 *  never rows. */
import type { Description, OrderBy, ResultStore } from './store';
import { valueText } from './values';

export type ChartKind = 'bar' | 'line' | 'histogram';

/** Bins of a histogram (as the grid's own chart draws). */
export const HISTOGRAM_BINS = 20;
/** A line of more points than this is drawn as its first and last points and the minimum and maximum of each of
 *  LINE_POINTS / 2 - 1 buckets (at most LINE_POINTS points). */
export const LINE_POINTS = 2000;
/** The most bars a reply carries. */
export const MAX_BARS = 200;
/** The widest value is sent cut to this many characters. */
export const WIDEST_CHARS = 2000;

export interface ChartRequest {
  kind: ChartKind;
  /** The column on the x axis (bar: the labels; line: numeric x), or undefined: the row number in the view's order. */
  x?: string;
  /** The numeric column drawn. */
  y: string;
  /** The grid's order and filter: the chart covers the rows the grid shows, in its order. */
  orderBy?: OrderBy[];
  search?: string;
  /** Bars wanted (the first rows in the view's order), at most MAX_BARS. */
  bars?: number;
}

export interface HistogramData {
  kind: 'histogram';
  /** Rows in the view (after the filter). */
  rows: number;
  /** Values counted in the bins (numeric, finite). */
  values: number;
  min: number;
  max: number;
  /** Row counts per bin: bin i covers [min + i·w, min + (i+1)·w), the last one includes max. */
  bins: number[];
}

export interface LineData {
  kind: 'line';
  rows: number;
  /** Rows with a numeric (finite) y and x. */
  values: number;
  /** The points drawn, ordered by x: every point when `values` ≤ LINE_POINTS, else the points of the smallest and
   *  the largest x and the minimum and maximum y of each of `buckets` equal x ranges (in their x order), so the
   *  line spans the whole x range and its spikes and dips survive. */
  points: [number, number][];
  /** Set when the line was downsampled: the number of x buckets. */
  buckets?: number;
}

export interface BarData {
  kind: 'bar';
  rows: number;
  /** The first rows of the view: the x label text (NULL: null) and the y value's exact text (null: NULL). */
  labels: (string | null)[];
  values: (string | null)[];
}

export type ChartData = HistogramData | LineData | BarData;

/** A value as a number for drawing (as the grid's chart reads it): numbers, 64-bit integers, decimals and numeric
 *  text; booleans, NULL, NaN and ±Infinity are not drawn. */
export function chartNumber(v: unknown): number | undefined {
  if (v === null || v === undefined || typeof v === 'boolean') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && /^\s*-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(v) ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** The bin of x in `bins` equal bins over [min, max] (max in the last), computed as PostgreSQL's width_bucket does. */
export function binOf(x: number, min: number, max: number, bins: number): number {
  if (!(max > min)) return 0;
  return Math.min(bins - 1, Math.max(0, Math.floor(bins * ((x - min) / (max - min)))));
}

function colIndex(columns: { name: string }[], name: string | undefined): number {
  if (name === undefined) return -1;
  const i = columns.findIndex(c => c.name === name);
  if (i < 0) throw new Error(`the result has no column "${name}"`);
  return i;
}

/** Calls `f` with each drawable point of the view, in its order (x: the row number when there is no x column);
 *  returns the rows read. */
async function eachPoint(store: ResultStore, id: string, view: { orderBy?: OrderBy[]; search?: string }, xi: number, yi: number,
  f: (x: number, y: number) => void): Promise<number> {
  let n = 0;
  for await (const chunk of store.scan(id, view)) {
    for (const r of chunk) {
      n++;
      const y = chartNumber(r[yi]);
      if (y === undefined) continue;
      const x = xi < 0 ? n : chartNumber(r[xi]);
      if (x !== undefined) f(x, y);
    }
  }
  return n;
}

/** The chart of one or two columns over every row of a stored result, in the view's order and filter. */
export async function chartData(store: ResultStore, id: string, req: ChartRequest): Promise<ChartData> {
  const info = await store.info(id);
  // (a histogram has no x: the x chosen for the other kinds is not read)
  const xi = req.kind === 'histogram' ? -1 : colIndex(info.columns, req.x);
  const yi = colIndex(info.columns, req.y);
  const view = { orderBy: req.orderBy, search: req.search };
  if (req.kind === 'bar') {
    const want = Math.max(1, Math.min(MAX_BARS, Math.floor(req.bars ?? 60)));
    const page = await store.page(id, { ...view, offset: 0, limit: want });
    const xt = xi >= 0 ? info.columns[xi].type : undefined, yt = info.columns[yi].type;
    return {
      kind: 'bar', rows: page.matched,
      labels: page.rows.map((r, i) => (xi < 0 ? String(i + 1) : r[xi] === null || r[xi] === undefined ? null : valueText(r[xi], xt))),
      values: page.rows.map(r => (r[yi] === null || r[yi] === undefined ? null : valueText(r[yi], yt))),
    };
  }
  // first pass: the rows, the numeric values' range (and, for a short line, the points themselves)
  let values = 0, min = Infinity, max = -Infinity, xmin = Infinity, xmax = -Infinity;
  let pts: [number, number][] | undefined = req.kind === 'line' ? [] : undefined;
  let first: [number, number] | undefined, last: [number, number] | undefined;
  const rows = await eachPoint(store, id, view, xi, yi, (x, y) => {
    values++;
    if (y < min) min = y;
    if (y > max) max = y;
    if (x < xmin) { xmin = x; first = [x, y]; }
    if (x > xmax) { xmax = x; last = [x, y]; }
    if (pts) { if (pts.length < LINE_POINTS) pts.push([x, y]); else pts = undefined; }
  });
  if (req.kind === 'histogram') {
    const bins = new Array<number>(HISTOGRAM_BINS).fill(0);
    if (values) await eachPoint(store, id, view, xi, yi, (_x, y) => { bins[binOf(y, min, max, HISTOGRAM_BINS)]++; });
    return { kind: 'histogram', rows, values, min: values ? min : 0, max: values ? max : 0, bins };
  }
  if (pts) {
    // every point: ordered by x (ties keep the view's order)
    if (xi >= 0) pts.sort((a, b) => a[0] - b[0]);
    return { kind: 'line', rows, values, points: pts };
  }
  // downsampled: per x bucket the point of the smallest and of the largest y, and the ends of the series (as M4 does
  // for the whole line): the polyline through them spans the x range and reaches every extreme the series reaches
  const buckets = LINE_POINTS / 2 - 1;
  const lo = new Array<[number, number] | undefined>(buckets), hi = new Array<[number, number] | undefined>(buckets);
  await eachPoint(store, id, view, xi, yi, (x, y) => {
    const b = binOf(x, xmin, xmax, buckets);
    const l = lo[b], h = hi[b];
    if (!l || y < l[1] || (y === l[1] && x < l[0])) lo[b] = [x, y];
    if (!h || y > h[1] || (y === h[1] && x < h[0])) hi[b] = [x, y];
  });
  const points: [number, number][] = [];
  const same = (a: [number, number] | undefined, b: [number, number] | undefined) => !!a && !!b && a[0] === b[0] && a[1] === b[1];
  if (first && !same(first, lo[0]) && !same(first, hi[0])) points.push(first);
  for (let b = 0; b < buckets; b++) {
    const l = lo[b], h = hi[b];
    if (!l || !h) continue;
    if (same(l, h)) points.push(l);
    else if (l[0] <= h[0]) points.push(l, h);
    else points.push(h, l);
  }
  if (last && !same(last, lo[buckets - 1]) && !same(last, hi[buckets - 1])) points.push(last);
  return { kind: 'line', rows, values, points, buckets };
}

/** The longest text of a column's values over every row of a stored result (cut at WIDEST_CHARS), and its length. */
export async function widestValue(store: ResultStore, id: string, column: string): Promise<{ text: string; length: number; rows: number }> {
  const info = await store.info(id);
  const i = colIndex(info.columns, column);
  const type = info.columns[i].type;
  let best = '', rows = 0;
  for await (const chunk of store.scan(id)) {
    for (const r of chunk) {
      rows++;
      const v = r[i];
      // the grid shows NULL as the word
      const s = v === null || v === undefined ? 'NULL' : valueText(v, type);
      if (s.length > best.length) best = s;
    }
  }
  return { text: best.length > WIDEST_CHARS ? best.slice(0, WIDEST_CHARS) : best, length: best.length, rows };
}

/** A 16-bar histogram of each numeric column of a description (undefined for the others), over the same rows (the
 *  filter `search`), in one scan: the column statistics of the grid. */
export async function columnHistograms(store: ResultStore, id: string, d: Description, search?: string, bins = 16): Promise<(number[] | undefined)[]> {
  const numeric = d.columns.map(c => typeof c.min === 'number' && typeof c.max === 'number' && Number.isFinite(c.min) && Number.isFinite(c.max) && c.max > c.min);
  const hist = d.columns.map((_, j) => (numeric[j] ? new Array<number>(bins).fill(0) : undefined));
  if (!numeric.some(Boolean)) return hist;
  for await (const chunk of store.scan(id, { search })) {
    for (const row of chunk) {
      for (let j = 0; j < hist.length; j++) {
        const h = hist[j], x = row[j];
        if (!h || typeof x !== 'number' || !Number.isFinite(x)) continue;
        h[binOf(x, d.columns[j].min as number, d.columns[j].max as number, bins)]++;
      }
    }
  }
  return hist;
}
