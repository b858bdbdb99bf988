import { z } from 'zod';
import { ToolError } from '../result';

/** The only acceptable stub: a tool whose backend has not landed yet answers with a tool error. */
export function notYet(what: string): never {
  throw new ToolError(`${what} is not available yet in this version of Data Tools. Use another tool for now.`);
}

export const filePath = z.string().min(1, 'must not be empty').max(4096)
  .describe('A local path inside an allowed root (absolute, or relative to the first root) or an s3://bucket/key URL.');

export const tableName = z.string().min(1).max(200)
  .describe('A table or view, optionally schema-qualified: "users" or "public.users".');

export const connection = z.string().min(1).max(100).optional()
  .describe('Name of a configured connection; omit for the active one.');

/** A value the agent asked for, held to the configured ceiling: the agent can lower a limit, never raise it past
 *  the configuration. Returns the value used and, when it was lowered, a note saying so. */
export function ceiling(asked: number | undefined, fallback: number, limit: number, param: string, unit = ''): { value: number; note?: string } {
  if (asked === undefined) return { value: Math.min(fallback, limit) };
  if (asked <= limit) return { value: asked };
  const f = (n: number) => `${n.toLocaleString('en-US')}${unit}`;
  return { value: limit, note: `${param}=${f(asked)} is above the configured limit of ${f(limit)}; ${f(limit)} was used (the limit is set by the user, not by the agent).` };
}
