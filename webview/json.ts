// An exact JSON reader for the value viewer and the EXPLAIN (FORMAT JSON) tree: numbers keep their source text
// (big integers, "0.00", "1e400" stay as written) and duplicate keys stay, so pretty-printing changes only the
// whitespace. JSON.parse would round numbers and drop duplicate keys.

export type JNode =
  | { t: 'object'; entries: [string, JNode][] }
  | { t: 'array'; items: JNode[] }
  | { t: 'string'; raw: string; value: string }
  | { t: 'number' | 'literal'; raw: string };

export function parseJsonExact(text: string): JNode {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\r\n'.includes(text[i])) i++; };
  const fail = (): never => { throw new Error(`not JSON at character ${i + 1}`); };
  const str = (): { raw: string; value: string } => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail();
    const raw = text.slice(start, ++i);
    return { raw, value: JSON.parse(raw) as string };
  };
  const value = (depth: number): JNode => {
    if (depth > 2000) fail();
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++; ws();
      const entries: [string, JNode][] = [];
      if (text[i] === '}') { i++; return { t: 'object', entries }; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        const k = str().value;
        ws();
        if (text[i++] !== ':') fail();
        entries.push([k, value(depth + 1)]);
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i++] === '}') return { t: 'object', entries };
        fail();
      }
    }
    if (ch === '[') {
      i++; ws();
      const items: JNode[] = [];
      if (text[i] === ']') { i++; return { t: 'array', items }; }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i++] === ']') return { t: 'array', items };
        fail();
      }
    }
    if (ch === '"') return { t: 'string', ...str() };
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m && m[0]) { i += m[0].length; return { t: 'number', raw: m[0] }; }
    for (const lit of ['true', 'false', 'null']) if (text.startsWith(lit, i)) { i += lit.length; return { t: 'literal', raw: lit }; }
    return fail();
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail();
  return v;
}

/** Two-space indented JSON text with every scalar exactly as in the source. */
export function prettyJson(n: JNode, indent = ''): string {
  const inner = indent + '  ';
  if (n.t === 'object') {
    if (!n.entries.length) return '{}';
    return `{\n${n.entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${prettyJson(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  if (n.t === 'array') {
    if (!n.items.length) return '[]';
    return `[\n${n.items.map(v => inner + prettyJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  return n.raw;
}

export function field(n: JNode | undefined, key: string): JNode | undefined {
  return n?.t === 'object' ? n.entries.find(([k]) => k === key)?.[1] : undefined;
}

export function scalarText(n: JNode | undefined): string {
  if (!n) return '';
  if (n.t === 'string') return n.value;
  if (n.t === 'number' || n.t === 'literal') return n.raw;
  return prettyJson(n);
}
