// `archive.s3`: where logs, deliveries and the ledger are kept for the long term (ARCHITECTURE.md,
// "Config sections added in wave 2"). AWS S3, or any S3-compatible store (MinIO, Ceph, ...) at its
// own endpoint, usually with path-style addressing.
import { ValidationError } from '../common/errors.js';
import { describeValue } from '../common/describe.js';
import type { ObjectReader } from './reader.js';

export interface S3ArchiveConfig {
  /** An S3-compatible store's URL (http or https); null: AWS S3 itself. @default null */
  endpoint: string | null;
  region: string;
  bucket: string;
  /** Key prefix without slashes at either end; '' puts objects at the bucket's top. @default '' */
  prefix: string;
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`. @default true with an endpoint */
  forcePathStyle: boolean;
  /**
   * Files (mode 0600) holding the access key id and the secret key; both or neither. Neither: the
   * SDK's default chain (environment, instance role). @default null
   */
  accessKeyIdFile: string | null;
  secretAccessKeyFile: string | null;
}

export interface ArchiveConfig {
  s3: S3ArchiveConfig;
}

/** S3's bucket naming rules (also MinIO's): 3-63 lowercase letters, digits, dots and hyphens. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[A-Za-z0-9_-]{1,64}$/;
/** Path segments of safe characters, joined by single slashes. */
const PREFIX = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

export function readArchive(r: ObjectReader, resolve: (p: string) => string): ArchiveConfig {
  const s3 = r.child('s3');
  // A section for another kind of store (gcs:, azure:) is named as unknown before s3's keys are missed.
  r.rejectUnknown();
  return { s3: readS3(s3, resolve) };
}

function readS3(r: ObjectReader, resolve: (p: string) => string): S3ArchiveConfig {
  const endpoint = r.has('endpoint') ? readEndpoint(r) : (r.raw('endpoint'), null);
  const s3: S3ArchiveConfig = {
    endpoint,
    region: matching(r, 'region', REGION),
    bucket: matching(r, 'bucket', BUCKET),
    prefix: r.has('prefix') ? readPrefix(r) : (r.raw('prefix'), ''),
    // Path-style is what S3-compatible stores answer to without wildcard DNS for their buckets.
    forcePathStyle: r.boolean('forcePathStyle', endpoint !== null),
    ...readKeyFiles(r, resolve),
  };
  r.rejectUnknown();
  return s3;
}

function readKeyFiles(
  r: ObjectReader,
  resolve: (p: string) => string,
): Pick<S3ArchiveConfig, 'accessKeyIdFile' | 'secretAccessKeyFile'> {
  const id = r.optionalString('accessKeyIdFile');
  const secret = r.optionalString('secretAccessKeyFile');
  if ((id === null) !== (secret === null)) {
    const missing = id === null ? 'accessKeyIdFile' : 'secretAccessKeyFile';
    throw new ValidationError(
      r.keyPath(missing),
      'is required with the other key file (give both, or neither to use the environment or an instance role)',
    );
  }
  return {
    accessKeyIdFile: id === null ? null : resolve(id),
    secretAccessKeyFile: secret === null ? null : resolve(secret),
  };
}

function readEndpoint(r: ObjectReader): string {
  const value = r.string('endpoint');
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    url = null;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password || url.search || url.hash) {
    throw new ValidationError(
      r.keyPath('endpoint'),
      `must be an http(s) URL without credentials or query, e.g. https://s3.example.org, got ${describeValue(value)}`,
    );
  }
  return value.replace(/\/+$/, '');
}

function readPrefix(r: ObjectReader): string {
  const value = r.string('prefix');
  if (!PREFIX.test(value) || value.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw new ValidationError(
      r.keyPath('prefix'),
      `must be path segments of letters, digits, "_", "." and "-" joined by "/", without a "/" at either end ` +
        `or "." and ".." segments (e.g. openhack/prod), got ${describeValue(value)}`,
    );
  }
  return value;
}

function matching(r: ObjectReader, key: string, pattern: RegExp): string {
  const value = r.string(key);
  if (!pattern.test(value)) {
    throw new ValidationError(r.keyPath(key), `must match ${pattern.source}, got ${describeValue(value)}`);
  }
  return value;
}
