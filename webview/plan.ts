// EXPLAIN output: PostgreSQL returns one text column "QUERY PLAN". The text form is shown as the plan tree it
// is, with its indentation kept (monospace, never cut: long lines scroll); FORMAT JSON as a collapsible tree
// with a bar per node for its share of the root's total cost.
import { field, parseJsonExact, scalarText, type JNode } from './json';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** True for the single "QUERY PLAN" column of EXPLAIN. */
export function isPlan(names: string[]): boolean {
  return names.length === 1 && names[0] === 'QUERY PLAN';
}

/** The text plan, one line per row, indentation and all. */
export function textPlanView(lines: string[]): HTMLElement {
  const box = el('section', 'plan plan-text');
  box.setAttribute('aria-label', 'Query plan');
  const pre = el('pre', 'plan-lines', lines.join('\n'));
  pre.tabIndex = 0;
  box.append(pre);
  return box;
}

const NODE_KEYS = ['Relation Name', 'Alias', 'Index Name', 'Join Type', 'Strategy', 'Sort Key', 'Group Key', 'Hash Cond', 'Index Cond', 'Filter', 'Join Filter', 'Merge Cond', 'Recheck Cond'];

/** The JSON plan as nested <details> (keyboard and screen-reader friendly), or undefined when it is not one. */
export function jsonPlanView(text: string): HTMLElement | undefined {
  let root: JNode;
  try { root = parseJsonExact(text); } catch { return undefined; }
  const top = root.t === 'array' ? root.items[0] : root;
  const plan = field(top, 'Plan');
  if (!plan) return undefined;
  const rootCost = Number(scalarText(field(plan, 'Total Cost'))) || 0;
  const box = el('section', 'plan plan-json');
  box.setAttribute('aria-label', 'Query plan');
  const tree = el('div', 'plan-tree');
  tree.append(planNode(plan, rootCost));
  box.append(tree);
  const extras = top?.t === 'object' ? top.entries.filter(([k]) => k !== 'Plan') : [];
  if (extras.length) box.append(el('div', 'plan-extra', extras.map(([k, v]) => `${k}: ${scalarText(v)}`).join(' · ')));
  return box;
}

function planNode(n: JNode, rootCost: number): HTMLElement {
  const d = el('details', 'plan-node');
  d.open = true;
  const s = el('summary');
  const type = scalarText(field(n, 'Node Type'));
  const rel = scalarText(field(n, 'Relation Name'));
  const alias = scalarText(field(n, 'Alias'));
  const idx = scalarText(field(n, 'Index Name'));
  const join = scalarText(field(n, 'Join Type'));
  let label = join && /Join|Nested Loop/.test(type) ? `${join} ${type}` : type;
  if (idx) label += ` using ${idx}`;
  if (rel) label += ` on ${rel}${alias && alias !== rel ? ` ${alias}` : ''}`;
  const total = scalarText(field(n, 'Total Cost'));
  const startup = scalarText(field(n, 'Startup Cost'));
  const share = rootCost > 0 ? Math.max(0, Math.min(1, Number(total) / rootCost)) : 0;
  const bar = el('span', 'cost-bar');
  bar.setAttribute('role', 'img');
  bar.setAttribute('aria-label', `${Math.round(share * 100)}% of the total cost`);
  const fill = el('span', 'cost-fill');
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  bar.append(fill);
  const rows = scalarText(field(n, 'Plan Rows'));
  const actual = scalarText(field(n, 'Actual Total Time'));
  const actualRows = scalarText(field(n, 'Actual Rows'));
  s.append(el('span', 'plan-label', label), bar,
    el('span', 'plan-cost', `cost ${startup}..${total} · rows ${rows}${actual ? ` · actual ${actual} ms, ${actualRows} rows` : ''}`));
  d.append(s);
  const props = NODE_KEYS.filter(k => k !== 'Relation Name' && k !== 'Alias' && k !== 'Index Name' && k !== 'Join Type' && field(n, k));
  if (props.length) {
    const ul = el('ul', 'plan-props');
    for (const k of props) ul.append(el('li', '', `${k}: ${scalarText(field(n, k))}`));
    d.append(ul);
  }
  const kids = field(n, 'Plans');
  if (kids?.t === 'array') {
    const wrap = el('div', 'plan-children');
    for (const k of kids.items) wrap.append(planNode(k, rootCost));
    d.append(wrap);
  }
  return d;
}
