import { z } from 'zod';

/** Turns schema issues into one message an agent can act on: which field, what was wrong, what is expected. */
export function formatIssues(tool: string, issues: readonly z.core.$ZodIssue[], usage: string): string {
  const lines = issues.map(i => {
    const where = i.path.length ? `\`${i.path.map(String).join('.')}\`` : 'the input';
    switch (i.code) {
      case 'unrecognized_keys':
        return `${where}: unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map(k => `\`${k}\``).join(', ')}`;
      case 'invalid_type':
        return `${where}: ${i.input === undefined ? `missing (expected ${i.expected})` : `expected ${i.expected}, got ${describe(i.input)}`}`;
      default:
        return `${where}: ${i.message}`;
    }
  });
  return `Invalid input for ${tool}: ${lines.join('; ')}.\nExpected: ${usage}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

export type JsonSchema = Record<string, unknown>;

/** The JSON Schema that MCP, package.json and the LM tools API all advertise for a tool's input. */
export function inputJsonSchema(schema: z.ZodType): JsonSchema {
  const js = z.toJSONSchema(schema, { io: 'input', target: 'draft-7', unrepresentable: 'throw' }) as JsonSchema;
  delete js.$schema;
  return js;
}

/** A one-line usage string derived from the JSON schema, e.g. `{query: string, timeout?: number}`. */
export function usageOf(js: JsonSchema): string {
  const props = (js.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((js.required as string[] | undefined) ?? []);
  const parts = Object.entries(props).map(([k, p]) => `${k}${required.has(k) ? '' : '?'}: ${typeName(p)}`);
  return `{${parts.join(', ')}}`;
}

function typeName(p: JsonSchema): string {
  if (Array.isArray(p.enum)) return p.enum.map(v => JSON.stringify(v)).join(' | ');
  if (Array.isArray(p.type)) return p.type.join(' | ');
  if (p.type === 'array') {
    const inner = typeName((p.items ?? {}) as JsonSchema);
    return inner.includes(' | ') ? `(${inner})[]` : `${inner}[]`;
  }
  if (Array.isArray(p.anyOf)) return (p.anyOf as JsonSchema[]).map(typeName).join(' | ');
  if (p.type === 'integer') return 'integer';
  return String(p.type ?? 'any');
}
