// A real S3-compatible server for the archive tests: s3rver on loopback, its objects in a scratch
// folder, with one bucket. stop() takes it down (connections are refused) and start() brings it back
// on the same port with the same objects; objects are read back over the S3 API itself. close()
// stops it and removes the folder. s3rver checks the access key id (S3RVER) of each request.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { freePort } from '../../harness/ports.js';

export const S3RVER_KEY = 'S3RVER';

export interface S3Server {
  endpoint: string;
  bucket: string;
  /** Key files (0600) holding s3rver's access key id and secret, for `archive.s3`. */
  keyFiles: { accessKeyIdFile: string; secretAccessKeyFile: string };
  /** The `archive:` section of a config that writes to this server under `prefix`. */
  configYaml(prefix: string): string;
  get(key: string): Promise<{ bytes: Buffer; metadata: Record<string, string> } | null>;
  keys(prefix?: string): Promise<string[]>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startS3Server(bucket = 'hv-archive'): Promise<S3Server> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hv-s3-'));
  const keyFiles = { accessKeyIdFile: path.join(dir, 'key-id'), secretAccessKeyFile: path.join(dir, 'key-secret') };
  await writeFile(keyFiles.accessKeyIdFile, `${S3RVER_KEY}\n`, { mode: 0o600 });
  await writeFile(keyFiles.secretAccessKeyFile, `${S3RVER_KEY}\n`, { mode: 0o600 });
  const options = {
    address: '127.0.0.1',
    silent: true,
    directory: path.join(dir, 'data'),
    configureBuckets: [{ name: bucket }],
  };
  // A port below the ephemeral range: while the server is down, the archive's own connection
  // attempts must not take it (or connect to themselves on it) before start() binds it again.
  const port = await freePort();
  let server: S3rver | null = new S3rver({ ...options, port });
  await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const stop = async (): Promise<void> => {
    await server?.close();
    server = null;
  };
  return {
    endpoint,
    bucket,
    keyFiles,
    configYaml: (prefix) =>
      `archive:\n  s3: { endpoint: '${endpoint}', region: us-east-1, bucket: ${bucket}, prefix: ${prefix}, ` +
      `forcePathStyle: true,\n        accessKeyIdFile: ${keyFiles.accessKeyIdFile}, ` +
      `secretAccessKeyFile: ${keyFiles.secretAccessKeyFile} }\n`,
    get: async (key) => {
      try {
        const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return { bytes: Buffer.from(await answer.Body!.transformToByteArray()), metadata: answer.Metadata ?? {} };
      } catch (err) {
        if ((err as { name?: string }).name === 'NoSuchKey') return null;
        throw err;
      }
    },
    keys: async (prefix) => {
      const answer = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (answer.Contents ?? []).map((o) => o.Key!).sort();
    },
    stop,
    start: async () => {
      if (server) return;
      server = new S3rver({ ...options, port });
      await server.run();
    },
    close: async () => {
      client.destroy();
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
