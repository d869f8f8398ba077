// An archived object read back is checked against the SHA-256 recorded when it was uploaded: the
// bytes pass through as they come, and a copy that differs (or stops short) ends the stream in an
// error instead of passing for the log, so a client never takes a damaged copy for the real one.
import { createHash } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import { ArchiveMismatchError } from './s3-target.js';

export function verifiedRead(body: Readable, sha256: string, what: string): Readable {
  const hash = createHash('sha256');
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      const got = hash.digest('hex');
      done(
        got === sha256 ? null : new ArchiveMismatchError(`${what}: ${size} bytes read, sha256 ${got}, not ${sha256}`),
      );
    },
  });
  // pipeline() destroys both ends on an error either side: the S3 socket is never left open.
  return pipeline(body, check, () => undefined);
}
