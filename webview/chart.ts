// A chart of a result's columns, drawn here as inline SVG (no library, nothing fetched): bar (a label column and
// a numeric one, the first 60 rows), line (numeric y over x or the row order) and histogram (20 bins of one
// numeric column, every row). A result paged from the store comes as bins, points or its first bars computed over
// every row there (src/core/chartData.ts). Values are read as numbers only for drawing; decimals (exact text) and 64-bit
// integers are converted for the position of a mark, labels keep the exact text.

const NS = 'http://www.w3.org/2000/svg';
export type ChartKind = 'bar' | 'line' | 'histogram';

export function toNumber(v: unknown): number | undefined {
  if (v === null || v === undefined || typeof v === 'boolean') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : /^\s*-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(String(v)) ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const short = (s: string) => (s.length > 14 ? `${s.slice(0, 13)}…` : s);
const tick = (n: number) => (Math.abs(n) >= 1e6 || (Math.abs(n) < 1e-3 && n !== 0) ? n.toExponential(2) : String(Math.round(n * 1000) / 1000));

export interface ChartData {
  kind: ChartKind; xName: string; yName: string; x: unknown[]; y: unknown[];
  /** Computed over a whole stored result (the rows are not here): a histogram's bins over [min, max]… */
  bins?: { min: number; max: number; counts: number[] };
  /** …a line's points, ordered by x (every point, or the minimum and maximum of each bucket)… */
  points?: [number, number][];
  /** …or a bar chart's first bars of this many rows in all. */
  total?: number;
}

/** The chart as an <svg role="img"> with a title, or a sentence saying why there is nothing to draw. */
export function drawChart(d: ChartData, width = 720, height = 320): SVGSVGElement | string {
  const m = { l: 64, r: 16, t: 16, b: 56 };
  const W = width - m.l - m.r; const H = height - m.t - m.b;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: `chart chart-${d.kind}` });
  let marks: { x: number; w: number; y0: number; y1: number; label: string; value: string }[] = [];
  let points: [number, number][] = [];
  let lo = 0; let hi = 0; let xlabels: string[] = []; let note = '';
  if (d.kind === 'histogram') {
    let min = Infinity; let max = -Infinity; let bins: number[]; let count = 0;
    if (d.bins) {
      ({ min, max } = d.bins);
      bins = d.bins.counts;
      count = bins.reduce((a, b) => a + b, 0);
      if (!count) return `No numeric values in ${d.yName} to draw.`;
    } else {
      const vals = d.y.map(toNumber).filter((v): v is number => v !== undefined);
      if (!vals.length) return `No numeric values in ${d.yName} to draw.`;
      for (const v of vals) { if (v < min) min = v; if (v > max) max = v; }
      bins = new Array(20).fill(0);
      const span = max - min || 1;
      for (const v of vals) bins[Math.min(19, Math.floor(((v - min) / span) * 20))]++;
      count = vals.length;
    }
    const span = max - min || 1;
    const nb = bins.length;
    hi = Math.max(...bins);
    marks = bins.map((c, i) => ({ x: (i / nb) * W, w: W / nb, y0: 0, y1: c, label: tick(min + (i * span) / nb), value: `${c} rows from ${tick(min + (i * span) / nb)} to ${tick(min + ((i + 1) * span) / nb)}` }));
    xlabels = [tick(min), tick(max)];
    note = `${count} values`;
  } else if (d.kind === 'bar') {
    const n = Math.min(60, d.y.length);
    const ys = d.y.slice(0, n).map(v => toNumber(v) ?? 0);
    if (!ys.length) return 'No rows to draw.';
    lo = Math.min(0, ...ys); hi = Math.max(0, ...ys);
    marks = ys.map((v, i) => ({ x: (i / n) * W, w: W / n, y0: 0, y1: v, label: short(d.x[i] === null || d.x[i] === undefined ? 'NULL' : String(d.x[i])), value: `${d.x[i] === null || d.x[i] === undefined ? 'NULL' : String(d.x[i])}: ${d.y[i] === null || d.y[i] === undefined ? 'NULL' : String(d.y[i])}` }));
    const all = d.total ?? d.y.length;
    if (all > n) note = `first ${n} of ${all} rows`;
  } else {
    const pts: [number, number][] = d.points ?? [];
    if (!d.points) d.y.forEach((v, i) => { const y = toNumber(v); const x = d.xName ? toNumber(d.x[i]) : i; if (y !== undefined && x !== undefined) pts.push([x, y]); });
    if (!pts.length) return `No numeric values in ${d.yName} to draw.`;
    if (d.xName && !d.points) pts.sort((a, b) => a[0] - b[0]);
    let xmin = Infinity; let xmax = -Infinity; lo = Infinity; hi = -Infinity;
    for (const [x, y] of pts) { xmin = Math.min(xmin, x); xmax = Math.max(xmax, x); lo = Math.min(lo, y); hi = Math.max(hi, y); }
    const xs = xmax - xmin || 1;
    points = pts.map(([x, y]) => [((x - xmin) / xs) * W, y]);
    xlabels = [tick(xmin), tick(xmax)];
    note = `${pts.length} points`;
  }
  if (hi === lo) { hi += 1; }
  const Y = (v: number) => m.t + H - ((v - lo) / (hi - lo)) * H;
  root.append(svg('title', {}, `${d.kind === 'histogram' ? `Histogram of ${d.yName}` : `${d.kind === 'bar' ? 'Bar' : 'Line'} chart of ${d.yName} by ${d.xName || 'row'}`}${note ? ` (${note})` : ''}`));
  const axis = svg('g', { class: 'axis' });
  axis.append(svg('line', { x1: m.l, y1: m.t, x2: m.l, y2: m.t + H }), svg('line', { x1: m.l, y1: Y(Math.max(lo, Math.min(hi, 0))), x2: m.l + W, y2: Y(Math.max(lo, Math.min(hi, 0))) }));
  for (const v of [lo, (lo + hi) / 2, hi]) axis.append(svg('text', { x: m.l - 6, y: Y(v) + 4, 'text-anchor': 'end' }, tick(v)));
  root.append(axis);
  if (marks.length) {
    const g = svg('g', { class: 'marks' });
    for (const k of marks) {
      const y = Math.min(Y(k.y0), Y(k.y1)); const h = Math.abs(Y(k.y1) - Y(k.y0));
      const r = svg('rect', { x: m.l + k.x + 1, y, width: Math.max(1, k.w - 2), height: Math.max(h, 0.5) });
      r.append(svg('title', {}, k.value));
      g.append(r);
    }
    root.append(g);
    if (d.kind === 'bar') {
      const every = Math.ceil(marks.length / 20);
      marks.forEach((k, i) => { if (i % every === 0) root.append(svg('text', { class: 'xlabel', x: m.l + k.x + k.w / 2, y: m.t + H + 14, 'text-anchor': 'end', transform: `rotate(-35 ${m.l + k.x + k.w / 2} ${m.t + H + 14})` }, k.label)); });
    }
  }
  if (points.length) root.append(svg('polyline', { class: 'line', points: points.map(([x, y]) => `${(m.l + x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ') }));
  if (xlabels.length) {
    root.append(svg('text', { class: 'xlabel', x: m.l, y: m.t + H + 16, 'text-anchor': 'start' }, xlabels[0]));
    root.append(svg('text', { class: 'xlabel', x: m.l + W, y: m.t + H + 16, 'text-anchor': 'end' }, xlabels[1]));
  }
  root.append(svg('text', { class: 'axis-name', x: m.l + W / 2, y: height - 6, 'text-anchor': 'middle' }, d.kind === 'histogram' ? d.yName : d.xName || 'row'));
  return root;
}
