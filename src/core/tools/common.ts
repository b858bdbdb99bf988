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
