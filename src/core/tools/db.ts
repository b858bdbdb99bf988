import { z } from 'zod';
import { defineTool } from '../tool';
import { connection, notYet, tableName } from './common';

export const executeQuery = defineTool({
  name: 'execute_query',
  title: 'Run a read-only SQL query',
  description: 'Runs one read-only SQL statement (SELECT, WITH, VALUES, TABLE, SHOW, EXPLAIN) on PostgreSQL and returns '
    + 'the column names and types, the first rows within a character budget, the row count and whether it was '
    + 'truncated. Writes, DDL, multiple statements and dangerous functions are refused; read-only is enforced by the '
    + 'database. Limits: 30 s and 10,000 rows by default. Use $1, $2... with `params` for values. To analyse a '
    + 'result in Python, pass `save_as` to write the whole result to a CSV or Parquet file and read that file in code.',
  input: z.strictObject({
    query: z.string().min(1, 'must not be empty').max(100_000).describe('One SQL statement.'),
    timeout: z.number().positive().max(3600).optional().describe('Statement timeout in seconds (default 30).'),
    max_rows: z.number().int().positive().max(10_000_000).optional().describe('Most rows to return (default 10,000).'),
    params: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).max(1000).optional()
      .describe('Values for $1, $2, ... placeholders.'),
    save_as: z.string().min(1).max(4096).optional()
      .describe('Write the whole result (up to max_rows) to this .csv or .parquet path inside an allowed root.'),
    connection,
  }),
  capability: 'db.read',
  readOnly: true,
  summary: i => `Running SQL: ${i.query.replace(/\s+/g, ' ').slice(0, 80)}`,
  handler: async () => notYet('Database queries'),
});

export const getSchema = defineTool({
  name: 'get_schema',
  title: 'Database schema overview',
  description: 'Returns a compact DDL-like picture of one table, or of the whole database (every table with its '
    + 'columns, types, keys), within a size budget. Start here to learn what data exists.',
  input: z.strictObject({ table_name: tableName.optional(), connection }),
  capability: 'db.read',
  readOnly: true,
  summary: i => (i.table_name ? `Reading the schema of ${i.table_name}` : 'Reading the database schema'),
  handler: async () => notYet('Database schema'),
});

export const listTables = defineTool({
  name: 'list_tables',
  title: 'List tables',
  description: 'Lists schemas, tables and views with estimated row counts and sizes.',
  input: z.strictObject({ schema: z.string().min(1).max(200).optional().describe('Only this schema.'), connection }),
  capability: 'db.read',
  readOnly: true,
  summary: () => 'Listing tables',
  handler: async () => notYet('Listing tables'),
});

export const getTableSample = defineTool({
  name: 'get_table_sample',
  title: 'Sample rows of a table',
  description: 'Returns a random sample of rows from a table or view (TABLESAMPLE on large tables), to see what '
    + 'values look like.',
  input: z.strictObject({
    table_name: tableName,
    n: z.number().int().positive().max(1000).optional().describe('Rows to return (default 10).'),
    connection,
  }),
  capability: 'db.read',
  readOnly: true,
  summary: i => `Sampling ${i.table_name}`,
  handler: async () => notYet('Table samples'),
});

export const describeTable = defineTool({
  name: 'describe_table',
  title: 'Describe a table',
  description: 'Describes a table or view: columns with types, nullability and defaults, primary and foreign keys, '
    + 'indexes, comments and the estimated row count.',
  input: z.strictObject({ table_name: tableName, connection }),
  capability: 'db.read',
  readOnly: true,
  summary: i => `Describing ${i.table_name}`,
  handler: async () => notYet('Describing tables'),
});
