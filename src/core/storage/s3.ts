import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../config';
import { ToolError } from '../result';

export interface S3Location { bucket: string; key: string }

export function isS3(p: string): boolean {
  return /^s3:\/\//i.test(p);
}

/** Parses s3://bucket/key. Keys are literal in S3, but `.`/`..`/empty segments are refused so that a key can
 *  never look like it is inside an allowed prefix while meaning something else to a reader. */
export function parseS3(url: string): S3Location {
  if (url.includes('\0')) throw new ToolError('The path contains a NUL byte. Give a plain s3://bucket/key.');
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
  if (!m) throw new ToolError(`"${url.slice(0, 80)}" is not an S3 URL; use s3://bucket/key.`);
  const bucket = m[1];
  const key = m[2];
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ToolError(`"${bucket}" is not a valid S3 bucket name.`);
  const segs = key.split('/');
  if (segs.some((s, i) => s === '.' || s === '..' || (s === '' && i < segs.length - 1))) {
    throw new ToolError(`The S3 key "${key.slice(0, 120)}" has ".", ".." or empty segments; give the key as stored, e.g. s3://${bucket}/folder/file.csv.`);
  }
  return { bucket, key };
}

interface Grant { bucket: string; prefix: string }

/** The S3 side of the path policy: a key must lie inside an allowed bucket (and prefix, by whole segments). */
export class S3Policy {
  readonly grants: Grant[];
  constructor(cfg: S3Config) {
    const all = [cfg.bucket, ...cfg.extraBuckets].filter((b): b is string => !!b);
    this.grants = all.map(b => {
      const s = b.replace(/^s3:\/\//i, '');
      const i = s.indexOf('/');
      return i < 0 ? { bucket: s, prefix: '' } : { bucket: s.slice(0, i), prefix: s.slice(i + 1).replace(/\/+$/, '') };
    });
  }

  describe(): string {
    return this.grants.length ? this.grants.map(g => `s3://${g.bucket}/${g.prefix}${g.prefix ? '/' : ''}`).join(', ') : 'none';
  }

  /** Checks an object key (`dir` = a prefix to list, which may be the parent of an allowed prefix only to reach it). */
  check(url: string): S3Location {
    const loc = parseS3(url);
    if (!this.grants.length) throw new ToolError('No S3 buckets are allowed: set S3_BUCKET (or the setting datatools.s3.bucket) or add buckets in datatools.s3.extraBuckets.');
    const ok = this.grants.some(g => g.bucket === loc.bucket && (g.prefix === '' || loc.key === g.prefix || loc.key.startsWith(`${g.prefix}/`)));
    if (!ok) throw new ToolError(`s3://${loc.bucket}/${loc.key} is outside the allowed S3 locations (${this.describe()}). Use a key inside one of them.`);
    return loc;
  }
}

export interface S3Object { key: string; size: number; modified?: Date }

/** One S3 client per configuration; counts the bytes it fetches so tools and benches can report them. */
export class S3Store {
  bytesFetched = 0;
  private constructor(private readonly client: S3Client, private readonly mod: typeof import('@aws-sdk/client-s3'), readonly policy: S3Policy) {}

  static async create(cfg: S3Config): Promise<S3Store> {
    const mod = await import('@aws-sdk/client-s3');
    const client = new mod.S3Client({
      region: cfg.region ?? 'us-east-1',
      ...(cfg.endpoint ? { endpoint: cfg.endpoint, forcePathStyle: true } : {}),
      // S3-compatible stores (MinIO, s3rver, R2...) reject or mangle the newer default checksums
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
    });
    return new S3Store(client, mod, new S3Policy(cfg));
  }

  dispose(): void { this.client.destroy(); }

  private fail(e: unknown, loc: S3Location, what: string): never {
    const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const url = `s3://${loc.bucket}/${loc.key}`;
    const status = err.$metadata?.httpStatusCode;
    if (err.name === 'NoSuchKey' || err.name === 'NotFound' || status === 404) throw new ToolError(`${url} does not exist (${what}). List the prefix with list_files to see what is there.`);
    if (err.name === 'NoSuchBucket') throw new ToolError(`The bucket ${loc.bucket} does not exist.`);
    if (err.name === 'AccessDenied' || status === 403) throw new ToolError(`Access denied to ${url} (${what}). Check the AWS credentials and the bucket policy.`);
    if (err.name === 'CredentialsProviderError') throw new ToolError('No AWS credentials were found (environment, ~/.aws, or instance role). Configure them and try again.');
    throw new ToolError(`S3 ${what} of ${url} failed: ${err.message ?? String(e)}`);
  }

  async head(loc: S3Location): Promise<S3Object> {
    let out;
    try { out = await this.client.send(new this.mod.HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key })); } catch (e) { this.fail(e, loc, 'HEAD'); }
    return { key: loc.key, size: Number(out.ContentLength ?? 0), modified: out.LastModified };
  }

  /** Bytes [start, end) by explicit offsets (never suffix ranges, which some stores get wrong). */
  async range(loc: S3Location, start: number, end: number): Promise<Buffer> {
    if (end <= start) return Buffer.alloc(0);
    let out;
    try { out = await this.client.send(new this.mod.GetObjectCommand({ Bucket: loc.bucket, Key: loc.key, Range: `bytes=${start}-${end - 1}` })); } catch (e) { this.fail(e, loc, 'ranged GET'); }
    const buf = Buffer.from(await out.Body!.transformToByteArray());
    this.bytesFetched += buf.length;
    if (buf.length !== end - start) throw new ToolError(`S3 returned ${buf.length} bytes for range ${start}-${end - 1} of s3://${loc.bucket}/${loc.key}; the object may have changed while reading.`);
    return buf;
  }

  async readAll(loc: S3Location): Promise<Buffer> {
    let out;
    try { out = await this.client.send(new this.mod.GetObjectCommand({ Bucket: loc.bucket, Key: loc.key })); } catch (e) { this.fail(e, loc, 'GET'); }
    const buf = Buffer.from(await out.Body!.transformToByteArray());
    this.bytesFetched += buf.length;
    return buf;
  }

  /** The whole object, or undefined when there is none; an object over `max` bytes is refused before it is read. */
  async readIfExists(loc: S3Location, max: number): Promise<Buffer | undefined> {
    let size: number;
    try {
      size = Number((await this.client.send(new this.mod.HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }))).ContentLength ?? 0);
    } catch (e) {
      const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404) return undefined;
      this.fail(e, loc, 'HEAD');
    }
    if (size > max) throw new ToolError(`s3://${loc.bucket}/${loc.key} is already ${size.toLocaleString('en-US')} bytes, over the file size limit (${max.toLocaleString('en-US')} bytes); nothing was appended.`);
    return this.readAll(loc);
  }

  /** A stream of the object; destroy it to stop fetching. */
  async stream(loc: S3Location): Promise<Readable> {
    let out;
    try { out = await this.client.send(new this.mod.GetObjectCommand({ Bucket: loc.bucket, Key: loc.key })); } catch (e) { this.fail(e, loc, 'GET'); }
    return out.Body as Readable; // the caller counts what it consumes
  }

  async put(loc: S3Location, data: Buffer, contentType?: string): Promise<void> {
    try {
      await this.client.send(new this.mod.PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: data, ContentType: contentType, ContentLength: data.length }));
    } catch (e) { this.fail(e, loc, 'PUT'); }
  }

  /** Lists keys under a prefix, following continuation tokens up to `max` entries. With `delimited`, folders
   *  (common prefixes) come back as entries ending in "/". */
  async list(loc: S3Location, o: { delimited: boolean; max: number; pageSize?: number }): Promise<{ entries: S3Object[]; more: boolean; pages: number }> {
    const entries: S3Object[] = [];
    let token: string | undefined;
    let pages = 0;
    for (;;) {
      let out;
      try {
        out = await this.client.send(new this.mod.ListObjectsV2Command({
          Bucket: loc.bucket, Prefix: loc.key, Delimiter: o.delimited ? '/' : undefined,
          MaxKeys: Math.min(o.pageSize ?? 1000, o.max - entries.length + 1), ContinuationToken: token,
        }));
      } catch (e) { this.fail(e, loc, 'list'); }
      pages++;
      for (const p of out.CommonPrefixes ?? []) entries.push({ key: p.Prefix!, size: -1 });
      for (const c of out.Contents ?? []) entries.push({ key: c.Key!, size: Number(c.Size ?? 0), modified: c.LastModified });
      if (entries.length > o.max) return { entries: entries.slice(0, o.max), more: true, pages };
      if (!out.IsTruncated || !out.NextContinuationToken) return { entries, more: false, pages };
      token = out.NextContinuationToken;
    }
  }
}

export function s3Key(cfg: S3Config): string {
  return `s3:${JSON.stringify([cfg.region, cfg.endpoint])}`;
}
