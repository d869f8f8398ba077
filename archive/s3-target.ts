// The bucket the archive writes to, through the AWS SDK v3: AWS S3, or an S3-compatible store at its
// own endpoint. Each upload is one attempt (the SDK's own retries are off: the uploader's queue is the
// one place that retries, with its backoff), and is checked afterwards with a HEAD: the store must
// hold as many bytes as were sent, under the SHA-256 the metadata names.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { HeadObjectCommand, GetObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ArchiveLocation } from '../common/archive.js';
import { HypervisorError } from '../common/errors.js';
import type { S3ArchiveConfig } from '../config/archive.js';
import type { S3Credentials } from './credentials.js';
import { objectKey, s3Url } from './names.js';

/** The metadata key of an object's SHA-256 (hex): `x-amz-meta-sha256`. */
export const SHA256_METADATA = 'sha256';
/** Parts of a multipart upload; one part buffered at a time, so an upload holds at most this in memory. */
const PART_BYTES = 8 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 5_000;
/** A connection that says nothing for this long fails the attempt (the SDK only warns unless told). */
const SOCKET_TIMEOUT_MS = 60_000;

/** A local file ready to upload: its bytes do not change, and its hash and size are known. */
export interface PreparedFile {
  path: string;
  sha256: string;
  size: number;
  contentType: string;
}

export interface FetchedObject {
  body: Readable;
  size: number | null;
  sha256: string | null;
}

/** What the uploader and the logs route need of a bucket. */
export interface ObjectTarget {
  /** `s3://bucket/prefix`, for messages. */
  readonly where: string;
  put(name: string, file: PreparedFile, signal: AbortSignal): Promise<ArchiveLocation>;
  get(location: ArchiveLocation, signal?: AbortSignal): Promise<FetchedObject>;
  close(): void;
}

/** The store answered, but does not hold what was sent: an upload to retry, and a store to look at. */
export class ArchiveMismatchError extends HypervisorError {
  constructor(message: string) {
    super('archive_mismatch', message);
  }
}

export class S3Target implements ObjectTarget {
  readonly where: string;
  readonly #config: S3ArchiveConfig;
  readonly #client: S3Client;

  constructor(config: S3ArchiveConfig, credentials: S3Credentials | null) {
    this.#config = config;
    this.where = s3Url(config.bucket, config.prefix);
    this.#client = new S3Client(clientConfig(config, credentials));
  }

  async put(name: string, file: PreparedFile, signal: AbortSignal): Promise<ArchiveLocation> {
    const location = { bucket: this.#config.bucket, key: objectKey(this.#config.prefix, name) };
    const abort = new AbortController();
    const stop = (): void => abort.abort(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    try {
      signal.throwIfAborted();
      await new Upload({
        client: this.#client,
        params: {
          Bucket: location.bucket,
          Key: location.key,
          Body: createReadStream(file.path),
          ContentType: file.contentType,
          Metadata: { [SHA256_METADATA]: file.sha256 },
        },
        partSize: PART_BYTES,
        queueSize: 1,
        abortController: abort,
      }).done();
      await this.#check(location, file, signal);
      return location;
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  async get(location: ArchiveLocation, signal?: AbortSignal): Promise<FetchedObject> {
    const answer = await this.#client.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }), {
      abortSignal: signal,
    });
    return {
      body: answer.Body as Readable,
      size: answer.ContentLength ?? null,
      sha256: answer.Metadata?.[SHA256_METADATA] ?? null,
    };
  }

  close(): void {
    this.#client.destroy();
  }

  /**
   * A store that takes the SDK's aws-chunked framing for content keeps more bytes than were sent;
   * one that drops metadata loses the hash. Either is an upload that did not happen as asked.
   */
  async #check(location: ArchiveLocation, file: PreparedFile, signal: AbortSignal): Promise<void> {
    const head = await this.#client.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }), {
      abortSignal: signal,
    });
    const kept = head.Metadata?.[SHA256_METADATA];
    if (head.ContentLength !== file.size || kept !== file.sha256) {
      throw new ArchiveMismatchError(
        `${s3Url(location.bucket, location.key)} holds ${head.ContentLength ?? 'an unknown number of'} bytes with ` +
          `sha256 ${kept ?? '(none)'} after an upload of ${file.size} bytes with sha256 ${file.sha256}`,
      );
    }
  }
}

function clientConfig(config: S3ArchiveConfig, credentials: S3Credentials | null): S3ClientConfig {
  // S3-compatible stores may not know the newer SDK's default checksums: sent as aws-chunked
  // trailers, some (s3rver, older Ceph and MinIO) store the framing as the object's content. Only
  // AWS itself gets them; elsewhere the SHA-256 check above and on every read stands in for them.
  const checksums = config.endpoint === null ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED';
  return {
    region: config.region,
    ...(config.endpoint === null ? {} : { endpoint: config.endpoint }),
    forcePathStyle: config.forcePathStyle,
    ...(credentials === null ? {} : { credentials }),
    maxAttempts: 1,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    requestHandler: {
      connectionTimeout: CONNECT_TIMEOUT_MS,
      requestTimeout: SOCKET_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
  };
}

/** The cause of a failed S3 call in one line: the store's error code and status, or the network's. */
export function describeS3Error(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) {
    const code = e.name && e.name !== 'Unknown' ? e.name : 'an error';
    const message = e.message && e.message !== 'UnknownError' ? `: ${e.message}` : '';
    return `the store answered ${status} ${code}${message}`;
  }
  if (err instanceof HypervisorError) return err.message;
  return e.message ?? String(err);
}
