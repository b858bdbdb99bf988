import { Transform, type Readable } from 'node:stream';
import type { ToolContext } from '../tool';
import type { RangedSource } from '../formats/parquet';
import { ToolError } from '../result';
import { PathPolicy, contentTooBig, fmtBytes, grewTooBig, tooBig } from './paths';
import { isS3, S3Store, s3Key, type S3Location } from './s3';

/** Passes a stream through, counting its bytes; destroying the result destroys the source (stops the fetch). */
export function counted(src: Readable, onBytes: (n: number) => void): Readable {
  const t = new Transform({ transform(chunk: Buffer, _enc, cb) { onBytes(chunk.length); cb(null, chunk); } });
  src.on('error', e => t.destroy(e));
  t.on('close', () => src.destroy());
  return src.pipe(t);
}

export function localPolicy(ctx: ToolContext): PathPolicy {
  return new PathPolicy(ctx.config.allowedPaths, ctx.config.limits.maxFileBytes);
}

export function s3Store(ctx: ToolContext): Promise<S3Store> {
  return ctx.services.get(s3Key(ctx.config.s3), () => S3Store.create(ctx.config.s3));
}

/** A readable data file, local or on S3, already checked against the path policy. */
export interface DataFile {
  /** The real local path or the s3:// URL. */
  display: string;
  size: number;
  modified?: Date;
  ranged: RangedSource;
  stream(): Promise<Readable>;
  /** Reads the whole file; refused over the size limit. */
  readAll(): Promise<Buffer>;
  /** Bytes fetched so far (S3) or read (local). */
  fetched(): number;
  close(): Promise<void>;
}

export async function openData(ctx: ToolContext, p: string): Promise<DataFile> {
  const max = ctx.config.limits.maxFileBytes;
  if (isS3(p)) {
    const store = await s3Store(ctx);
    const loc: S3Location = store.policy.check(p);
    const head = await store.head(loc);
    let fetched = 0;
    const url = `s3://${loc.bucket}/${loc.key}`;
    return {
      display: url, size: head.size, modified: head.modified,
      ranged: { byteLength: head.size, read: async (s, e) => { const b = await store.range(loc, s, e); fetched += b.length; return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer; } },
      stream: async () => counted(await store.stream(loc), n => { fetched += n; store.bytesFetched += n; }),
      readAll: async () => {
        if (head.size > max) throw tooBig(url, head.size, max);
        const b = await store.readAll(loc);
        fetched += b.length;
        return b;
      },
      fetched: () => fetched,
      close: async () => undefined,
    };
  }
  const f = await localPolicy(ctx).openStream(p);
  let read = 0;
  return {
    display: f.path, size: f.size, modified: new Date(f.mtimeMs),
    ranged: { byteLength: f.size, read: async (s, e) => {
      const b = Buffer.alloc(e - s);
      const { bytesRead } = await f.handle.read(b, 0, e - s, s);
      read += bytesRead;
      return b.buffer.slice(b.byteOffset, b.byteOffset + bytesRead) as ArrayBuffer;
    } },
    stream: async () => counted(f.handle.createReadStream({ autoClose: false, start: 0, highWaterMark: 64 * 1024 }), n => { read += n; }),
    readAll: async () => {
      if (f.size > max) throw tooBig(p, f.size, max);
      const b = await f.handle.readFile();
      read += b.length;
      return b;
    },
    fetched: () => read,
    close: () => f.handle.close(),
  };
}

/** Writes a file locally (atomically, via the path policy) or to S3 (a PUT replaces the object whole). */
export async function writeData(ctx: ToolContext, p: string, data: Buffer, contentType?: string): Promise<string> {
  if (isS3(p)) {
    const store = await s3Store(ctx);
    const loc = store.policy.check(p);
    if (!loc.key || loc.key.endsWith('/')) throw new ToolError(`${p} names a prefix; give an object key such as ${p.replace(/\/?$/, '/file.csv')}.`);
    const max = ctx.config.limits.maxFileBytes;
    if (data.byteLength > max) throw contentTooBig(data.byteLength, max);
    await store.put(loc, data, contentType);
    return `s3://${loc.bucket}/${loc.key}`;
  }
  return localPolicy(ctx).writeAtomic(p, data);
}

/** Adds bytes to the end of a file (created when missing), all or nothing: locally in place (cut back on a failure);
 *  to S3 by reading the object and putting it back longer (an object is replaced whole), within the size limit. */
export async function appendData(ctx: ToolContext, p: string, data: Buffer): Promise<{ path: string; size: number }> {
  if (isS3(p)) {
    const store = await s3Store(ctx);
    const loc = store.policy.check(p);
    if (!loc.key || loc.key.endsWith('/')) throw new ToolError(`${p} names a prefix; give an object key such as ${p.replace(/\/?$/, '/file.csv')}.`);
    const max = ctx.config.limits.maxFileBytes;
    const old = await store.readIfExists(loc, max);
    const size = (old?.byteLength ?? 0) + data.byteLength;
    if (size > max) throw new ToolError(`Appending ${fmtBytes(data.byteLength)} would make ${p} ${fmtBytes(size)}, over the ${fmtBytes(max)} limit; nothing was appended.`);
    await store.put(loc, old ? Buffer.concat([old, data]) : data);
    return { path: `s3://${loc.bucket}/${loc.key}`, size };
  }
  return localPolicy(ctx).appendAtomic(p, data);
}

/** writeData for a file made piece by piece: locally streamed into a temporary file and renamed (PathPolicy
 *  writeAtomicStream: bounded memory, the size limit checked as it grows); to S3 gathered up to the size limit and
 *  PUT whole (an object is replaced whole). */
export async function writeDataStream<T>(ctx: ToolContext, p: string, produce: (write: (bytes: Uint8Array) => Promise<void>) => Promise<T>, contentType?: string): Promise<{ path: string; bytes: number; value: T }> {
  if (isS3(p)) {
    const store = await s3Store(ctx);
    const loc = store.policy.check(p);
    if (!loc.key || loc.key.endsWith('/')) throw new ToolError(`${p} names a prefix; give an object key such as ${p.replace(/\/?$/, '/file.csv')}.`);
    const max = ctx.config.limits.maxFileBytes;
    const parts: Uint8Array[] = [];
    let bytes = 0;
    const value = await produce(async b => {
      if (bytes + b.byteLength > max) throw grewTooBig(bytes + b.byteLength, max);
      bytes += b.byteLength;
      parts.push(b);
    });
    await store.put(loc, Buffer.concat(parts), contentType);
    return { path: `s3://${loc.bucket}/${loc.key}`, bytes, value };
  }
  return localPolicy(ctx).writeAtomicStream(p, produce);
}
