import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connectMcp, tmpDir } from '../helpers/mcp';
import { CATALOG } from '../../src/core/catalog';

const ALL = CATALOG.map(t => t.name).sort();
const expected: Record<string, string[]> = {
  data_scientist: ALL.filter(n => n !== 'run_script' && n !== 'write_file'),
  data_engineer: ALL.filter(n => n !== 'install_package'),
  ml_engineer: ALL.filter(n => n !== 'run_script'),
};

test('the catalog holds the 14 tools of the seed and get_result', () => {
  assert.deepEqual(ALL, ['describe_table', 'execute_code', 'execute_query', 'get_environment', 'get_result', 'get_schema', 'get_table_sample',
    'install_package', 'list_files', 'list_tables', 'read_csv', 'read_file', 'read_parquet', 'run_script', 'write_file']);
});

for (const [role, tools] of Object.entries(expected)) {
  test(`MCP: role ${role} lists exactly its tools, and a tool it lacks is refused`, async () => {
    const dir = tmpDir('mcp-role');
    const { client, close } = await connectMcp({ DATATOOLS_ROLE: role, DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl'), DATATOOLS_ALLOWED_PATHS: dir });
    try {
      const listed = (await client.listTools()).tools;
      assert.deepEqual(listed.map(t => t.name).sort(), [...tools].sort());
      for (const t of listed) {
        assert.equal(t.inputSchema.type, 'object');
        assert.ok(t.description && t.description.length > 40, `${t.name} has a model-oriented description`);
      }
      const lacking = ALL.filter(n => !tools.includes(n));
      assert.ok(lacking.length > 0);
      for (const name of lacking) {
        const r = await client.callTool({ name, arguments: {} });
        assert.equal(r.isError, true, `${name} must be refused for ${role}`);
        const text = (r.content as { type: string; text: string }[])[0].text;
        assert.match(text, new RegExp(`not allowed for the role .*${role}`));
        assert.match(text, /available to/);
      }
    } finally { await close(); }
  });
}

test('MCP: malformed inputs get clear tool errors and the server keeps serving', async () => {
  const dir = tmpDir('mcp-bad');
  const { client, close } = await connectMcp({ DATATOOLS_ROLE: 'ml_engineer', DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl'), DATATOOLS_ALLOWED_PATHS: dir });
  const text = (r: Awaited<ReturnType<typeof client.callTool>>) => (r.content as { text: string }[])[0].text;
  try {
    const wrongType = await client.callTool({ name: 'execute_query', arguments: { query: 42 } });
    assert.equal(wrongType.isError, true);
    assert.match(text(wrongType), /Invalid input for execute_query: `query`: expected string, got number/);
    assert.match(text(wrongType), /Expected: \{query: string, timeout\?: number/);

    const missing = await client.callTool({ name: 'write_file', arguments: { file_path: path.join(dir, 'x.txt') } });
    assert.equal(missing.isError, true);
    assert.match(text(missing), /`content`: missing \(expected string\)/);

    const unknown = await client.callTool({ name: 'read_csv', arguments: { file_path: 'a.csv', rows: 5 } });
    assert.equal(unknown.isError, true);
    assert.match(text(unknown), /unknown field `rows`/);

    const badValue = await client.callTool({ name: 'execute_query', arguments: { query: 'select 1', max_rows: -3 } });
    assert.equal(badValue.isError, true);
    assert.match(text(badValue), /`max_rows`/);

    const notObject = await client.callTool({ name: 'install_package', arguments: { packages: ['--index-url=http://evil'] } });
    assert.equal(notObject.isError, true);
    assert.match(text(notObject), /pip requirement/);

    // a tool the catalog does not have is -32602 (the specification's error), with one "MCP error" prefix, not two
    await assert.rejects(client.callTool({ name: 'drop_database', arguments: {} }), (e: { code?: number; message: string }) =>
      e.code === -32602 && /Unknown tool `drop_database`/.test(e.message) && (e.message.match(/MCP error/g) ?? []).length === 1);

    // still serving after all of that
    assert.equal((await client.listTools()).tools.length, expected.ml_engineer.length);
    const lines = fs.readFileSync(path.join(dir, 'audit.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l));
    assert.deepEqual(lines.map(l => l.outcome), ['invalid', 'invalid', 'invalid', 'invalid', 'invalid', 'refused']);
  } finally { await close(); }
});

test('MCP: a bad DATATOOLS_ROLE stops the server with a message that names the variable', async () => {
  await assert.rejects(connectMcp({ DATATOOLS_ROLE: 'admin' }));
});

test('MCP: the bundled server queries the embedded sample; tables come back as structuredContent, charts as images', async () => {
  const dir = tmpDir('mcp-sample');
  const { client, close } = await connectMcp({ DATATOOLS_ROLE: 'data_scientist', DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl'), DATATOOLS_ALLOWED_PATHS: dir });
  try {
    const r = await client.callTool({ name: 'execute_query', arguments: { query: 'SELECT id, email FROM users ORDER BY id LIMIT 3' } });
    assert.equal(r.isError, undefined, JSON.stringify(r.content));
    assert.match((r.content as { text: string }[])[0].text, /^3 rows returned in \d+ ms \(complete\)/);
    const sc = r.structuredContent as { tables: { columns: { name: string; type: string }[]; rows: unknown[][]; truncated: boolean }[] };
    assert.deepEqual(sc.tables[0].columns, [{ name: 'id', type: 'integer' }, { name: 'email', type: 'text' }]);
    assert.deepEqual(sc.tables[0].rows[0], [1, 'user1@example.com']);
    const py = await client.callTool({ name: 'execute_code', arguments: { code: 'import matplotlib.pyplot as plt\nplt.plot([3, 1, 2])' } });
    const img = (py.content as { type: string; mimeType?: string; data?: string; text?: string }[]).find(c => c.type === 'image');
    assert.equal(img?.mimeType, 'image/png', JSON.stringify(py.content).slice(0, 500));
    // the image is the image part's data (a real PNG), never base64 in the text or the structured result
    assert.equal(Buffer.from(img!.data!, 'base64').subarray(1, 4).toString(), 'PNG');
    const texts = (py.content as { type: string; text?: string }[]).filter(c => c.type === 'text').map(c => c.text ?? '').join('\n');
    const probe = img!.data!.slice(100, 160);
    assert.ok(!texts.includes(probe), 'no image data in the text');
    assert.ok(!/[A-Za-z0-9+/]{200,}/.test(texts), 'no long base64 run in the text');
    assert.ok(!JSON.stringify(py.structuredContent ?? {}).includes(probe), 'nor in the structured result');
  } finally { await close(); }
});

test('MCP: content over the request limit is refused with the way to send it, then sent in pieces with append: the file is exact', async () => {
  const dir = tmpDir('mcp-append');
  const { client, close } = await connectMcp({ DATATOOLS_ROLE: 'data_engineer', DATATOOLS_AUDIT_LOG: path.join(dir, 'audit.jsonl'), DATATOOLS_ALLOWED_PATHS: dir,
    DATATOOLS_MAX_REQUEST_BYTES: '65536' });
  try {
    const content = Array.from({ length: 12000 }, (_, i) => `${String(i).padStart(6, '0')},ü€${'x'.repeat(i % 40)}`).join('\n');
    assert.ok(Buffer.byteLength(content) > 4 * 65536);
    const whole = await client.callTool({ name: 'write_file', arguments: { file_path: 'big.csv', content } }) as { isError?: boolean; content: { text: string }[] };
    assert.equal(whole.isError, true);
    assert.match(whole.content[0].text, /over the [\d,]+-byte limit on one request .*write_file: the first piece without append, the rest with append: true/);
    assert.equal(fs.existsSync(path.join(dir, 'big.csv')), false);
    // pieces of 20,000 characters (up to ~60 KB of UTF-8 in JSON), cut between characters
    const chars = [...content];
    for (let at = 0, k = 0; at < chars.length; at += 20_000, k++) {
      const r = await client.callTool({ name: 'write_file', arguments: { file_path: 'big.csv', content: chars.slice(at, at + 20_000).join(''), ...(k ? { append: true } : {}) } }) as { isError?: boolean; content: { text: string }[] };
      assert.equal(r.isError, undefined, r.content[0].text);
    }
    assert.equal(fs.readFileSync(path.join(dir, 'big.csv'), 'utf8'), content);
  } finally { await close(); }
});
