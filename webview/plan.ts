// EXPLAIN output: PostgreSQL returns one text column "QUERY PLAN". The text form is parsed into the plan tree it
// is (nodes, their detail lines, costs) and shown collapsible, keyboard-accessible (ARIA tree); text that is not a
// plan stays as its lines. FORMAT JSON is a collapsible tree too. Both have a bar per node for its share of the
// root's total cost.
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

/** One node of a text plan: its header line ("Hash Join  (cost=…)"), its detail lines (Filter:, Sort Key:, …) and
 *  its children (the "->" lines indented under it; InitPlan/SubPlan/CTE headings are nodes too). */
export interface TextPlanNode { label: string; cost: string; total?: number; details: string[]; children: TextPlanNode[]; line: number }

const GROUP = /^(InitPlan|SubPlan|CTE)\b/;

/** PostgreSQL's text plan as a tree, or undefined when the lines are not one (then they are shown as they are). */
export function parseTextPlan(lines: string[]): { root: TextPlanNode; footer: string[] } | undefined {
  if (!lines.length || /^\s/.test(lines[0]) || lines.some(l => l.includes('\n'))) return undefined;
  const head = (text: string, line: number): TextPlanNode => {
    // the label, then "(cost=…)" / "(actual …)" / "(never executed)" groups
    const at = text.search(/\s+\((cost=|actual |never executed)/);
    const label = (at < 0 ? text : text.slice(0, at)).trim();
    const cost = at < 0 ? '' : text.slice(at).trim();
    const m = /cost=[\d.]+\.\.([\d.]+)/.exec(cost);
    return { label, cost, total: m ? Number(m[1]) : undefined, details: [], children: [], line };
  };
  const root = head(lines[0], 0);
  const stack: { col: number; node: TextPlanNode }[] = [{ col: 0, node: root }];
  const footer: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    if (!l.trim()) continue;
    const indent = l.length - l.trimStart().length;
    const arrow = /^(\s*)->\s+(.*)$/.exec(l);
    const group = !arrow && indent > 0 && GROUP.test(l.trimStart());
    if (arrow || group) {
      const col = arrow ? arrow[1].length : indent;
      if (col === 0) return undefined;
      while (stack.length > 1 && stack[stack.length - 1].col >= col) stack.pop();
      const n = arrow ? head(arrow[2], i) : { label: l.trim(), cost: '', details: [], children: [], line: i };
      stack[stack.length - 1].node.children.push(n);
      stack.push({ col, node: n });
      continue;
    }
    // a top-level line after the tree (Planning Time:, Execution Time:, JIT:, Trigger …) belongs to the whole plan
    if (indent === 0 || footer.length) { footer.push(l); continue; }
    while (stack.length > 1 && stack[stack.length - 1].col >= indent) stack.pop();
    stack[stack.length - 1].node.details.push(l.trim());
  }
  return { root, footer };
}

/** The text plan as a collapsible tree (ARIA tree: arrows move, Right/Left open/close, Enter or Space toggles),
 *  each node with its cost and a bar for its share of the root's total cost; anything else as its lines. */
export function textPlanView(lines: string[]): HTMLElement {
  const box = el('section', 'plan plan-text');
  box.setAttribute('aria-label', 'Query plan');
  const parsed = parseTextPlan(lines);
  if (!parsed) {
    const pre = el('pre', 'plan-lines', lines.join('\n'));
    pre.tabIndex = 0;
    box.append(pre);
    return box;
  }
  const tree = el('ul', 'plan-tree text-tree');
  tree.setAttribute('role', 'tree');
  tree.setAttribute('aria-label', 'Query plan');
  const rootTotal = parsed.root.total ?? 0;
  tree.append(textNode(parsed.root, 1, rootTotal));
  box.append(tree);
  if (parsed.footer.length) box.append(el('pre', 'plan-extra plan-footer', parsed.footer.join('\n')));
  const items = () => [...tree.querySelectorAll<HTMLElement>('[role=treeitem]')].filter(x => !x.closest('[role=group][hidden]'));
  const focusItem = (x: HTMLElement | undefined) => {
    if (!x) return;
    for (const o of tree.querySelectorAll<HTMLElement>('[role=treeitem]')) o.tabIndex = -1;
    x.tabIndex = 0;
    x.focus();
  };
  tree.addEventListener('click', e => {
    const t = (e.target as HTMLElement).closest<HTMLElement>('.plan-row');
    if (!t) return;
    const item = t.parentElement as HTMLElement;
    if ((e.target as HTMLElement).closest('.plan-toggle')) toggle(item);
    focusItem(item);
  });
  tree.addEventListener('keydown', e => {
    const cur = (e.target as HTMLElement).closest<HTMLElement>('[role=treeitem]');
    if (!cur) return;
    const all = items();
    const i = all.indexOf(cur);
    const open = cur.getAttribute('aria-expanded');
    let handled = true;
    if (e.key === 'ArrowDown') focusItem(all[i + 1]);
    else if (e.key === 'ArrowUp') focusItem(all[i - 1]);
    else if (e.key === 'Home') focusItem(all[0]);
    else if (e.key === 'End') focusItem(all[all.length - 1]);
    else if (e.key === 'ArrowRight') { if (open === 'false') toggle(cur); else if (open === 'true') focusItem(all[i + 1]); }
    else if (e.key === 'ArrowLeft') { if (open === 'true') toggle(cur); else focusItem(cur.parentElement?.closest<HTMLElement>('[role=treeitem]') ?? undefined); }
    else if ((e.key === 'Enter' || e.key === ' ') && open !== null) toggle(cur);
    else handled = false;
    if (handled) { e.preventDefault(); e.stopPropagation(); }
  });
  const first = tree.querySelector<HTMLElement>('[role=treeitem]');
  if (first) first.tabIndex = 0;
  return box;
}

function toggle(item: HTMLElement): void {
  const open = item.getAttribute('aria-expanded');
  if (open === null) return;
  const now = open !== 'true';
  item.setAttribute('aria-expanded', String(now));
  const g = item.querySelector<HTMLElement>(':scope > [role=group]');
  if (g) g.hidden = !now;
  const t = item.querySelector(':scope > .plan-row .plan-toggle');
  if (t) t.textContent = now ? '▾' : '▸';
}

/** A bar for a node's share (0..1) of the root's total cost, named for screen readers. */
function costBar(ratio: number): HTMLElement {
  const share = Number.isFinite(ratio) ? Math.max(0, Math.min(1, ratio)) : 0;
  const bar = el('span', 'cost-bar');
  bar.setAttribute('role', 'img');
  bar.setAttribute('aria-label', `${Math.round(share * 100)}% of the total cost`);
  const fill = el('span', 'cost-fill');
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  bar.append(fill);
  return bar;
}

function textNode(n: TextPlanNode, level: number, rootTotal: number): HTMLElement {
  const li = el('li', 'plan-item');
  li.setAttribute('role', 'treeitem');
  li.setAttribute('aria-level', String(level));
  li.tabIndex = -1;
  const row = el('div', 'plan-row');
  const toggleEl = el('span', 'plan-toggle', n.children.length ? '▾' : '');
  toggleEl.setAttribute('aria-hidden', 'true');
  row.append(toggleEl, el('span', 'plan-label', n.label));
  if (n.total !== undefined && rootTotal > 0) {
    row.append(costBar(n.total / rootTotal));
  }
  if (n.cost) row.append(el('span', 'plan-cost', n.cost));
  li.append(row);
  if (n.details.length) {
    const ul = el('ul', 'plan-props');
    for (const d of n.details) ul.append(el('li', '', d));
    li.append(ul);
  }
  if (n.children.length) {
    li.setAttribute('aria-expanded', 'true');
    const g = el('ul', 'plan-children');
    g.setAttribute('role', 'group');
    for (const c of n.children) g.append(textNode(c, level + 1, rootTotal));
    li.append(g);
  }
  return li;
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
  const bar = costBar(rootCost > 0 ? Number(total) / rootCost : 0);
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
