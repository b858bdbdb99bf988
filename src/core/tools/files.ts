import { z } from 'zod';
import { defineTool } from '../tool';
import { filePath, notYet } from './common';

const columns = z.array(z.string().min(1).max(1000)).min(1).max(1000).optional().describe('Only these columns.');
const nRows = z.number().int().positive().max(1_000_000).optional().describe('Rows to read from the start (default 100).');

export const readFile = defineTool({
  name: 'read_file',
  title: 'Read a text file',
  description: 'Reads a text file (local or s3://) inside the allowed roots. Use offset and length (in lines) to page '
    + 'through large files. Binary formats get an error naming the right tool (read_csv, read_parquet).',
  input: z.strictObject({
    file_path: filePath,
    offset: z.number().int().min(0).optional().describe('First line to return, 0-based (default 0).'),
    length: z.number().int().positive().max(100_000).optional().describe('Lines to return (default 2,000).'),
  }),
  capability: 'files.read',
  readOnly: true,
  summary: i => `Reading ${i.file_path}`,
  handler: async () => notYet('Reading files'),
});

export const readCsv = defineTool({
  name: 'read_csv',
  title: 'Read a CSV file',
  description: 'Reads the first rows of a CSV or TSV file (local or s3://) with the delimiter, header and column '
    + 'types inferred. Reads only what it returns, so a huge file costs the same as a small one.',
  input: z.strictObject({ file_path: filePath, n_rows: nRows, columns }),
  capability: 'files.read',
  readOnly: true,
  summary: i => `Reading CSV ${i.file_path}`,
  handler: async () => notYet('Reading CSV'),
});

export const readParquet = defineTool({
  name: 'read_parquet',
  title: 'Read a Parquet file',
  description: 'Reads the schema, row count and first rows of a Parquet file (local or s3://), fetching only the '
    + 'footer and the row groups it needs.',
  input: z.strictObject({ file_path: filePath, n_rows: nRows, columns }),
  capability: 'files.read',
  readOnly: true,
  summary: i => `Reading Parquet ${i.file_path}`,
  handler: async () => notYet('Reading Parquet'),
});

export const listFiles = defineTool({
  name: 'list_files',
  title: 'List files',
  description: 'Lists files and folders (local or an s3:// prefix) inside the allowed roots with sizes and '
    + 'modification times. Bounded in count and depth. Omit path to list the allowed roots.',
  input: z.strictObject({
    path: filePath.optional(),
    pattern: z.string().min(1).max(200).optional().describe('Glob on file names, e.g. "*.csv".'),
    recursive: z.boolean().optional().describe('Descend into folders (default false).'),
  }),
  capability: 'files.read',
  readOnly: true,
  summary: i => `Listing ${i.path ?? 'the data roots'}`,
  handler: async () => notYet('Listing files'),
});

export const writeFile = defineTool({
  name: 'write_file',
  title: 'Write a file',
  description: 'Writes a file (local or s3://) inside the allowed roots, atomically: the old file stays whole if '
    + 'anything fails. Content is text, or bytes in base64 with encoding "base64". Creates parent folders inside a root.',
  input: z.strictObject({
    file_path: filePath,
    content: z.string().max(150_000_000).describe('Text, or base64 when encoding is "base64".'),
    encoding: z.enum(['utf8', 'base64']).optional().describe('Default "utf8".'),
  }),
  capability: 'files.write',
  readOnly: false,
  confirm: i => ({ title: 'Write this file?', message: `Write ${i.content.length.toLocaleString('en-US')} ${i.encoding === 'base64' ? 'base64 characters' : 'characters'} to \`${i.file_path}\`` }),
  summary: i => `Writing ${i.file_path}`,
  handler: async () => notYet('Writing files'),
});
