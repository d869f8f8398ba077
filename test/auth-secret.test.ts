// The signing secret file on a real filesystem: created once (0600, 512 bits), reused by the next
// start, and refused when others could read it or when it is too short to sign with.
import { expect } from 'chai';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadOrCreateSecret, SecretFileError } from '../api/auth/secret.js';
import { scratchDir } from '../harness/daemon-process.js';

describe('auth: the signing secret file', () => {
  let scratch: { dir: string; remove(): Promise<void> };
  beforeEach(async () => {
    scratch = await scratchDir('hv-secret-');
  });
  afterEach(async () => {
    await scratch.remove();
  });

  it('is created at first start as a 0600 file in a 0700 folder, and read again by the next', async () => {
    const file = path.join(scratch.dir, 'auth', 'jwt-secret');
    const first = await loadOrCreateSecret(file);
    expect(first.length).to.equal(64);
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).to.equal(0o700);
    const again = await loadOrCreateSecret(file);
    expect(Buffer.from(again).equals(Buffer.from(first))).to.equal(true);
  });

  it('is the same for two daemons starting at once', async () => {
    const file = path.join(scratch.dir, 'jwt-secret');
    const [a, b] = await Promise.all([loadOrCreateSecret(file), loadOrCreateSecret(file)]);
    expect(Buffer.from(a).equals(Buffer.from(b))).to.equal(true);
    expect(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url').equals(Buffer.from(a))).to.equal(true);
  });

  it('is refused when group or others may read it', async () => {
    const file = path.join(scratch.dir, 'jwt-secret');
    await loadOrCreateSecret(file);
    await chmod(file, 0o640);
    const err = await loadOrCreateSecret(file).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(SecretFileError);
    expect((err as Error).message).to.equal(
      `auth.secretFile ${file} has mode 0640, readable by its group: a secret must be readable by ` +
        `its owner only; fix: chmod 600 ${file}`,
    );
  });

  it('is refused when it holds fewer than 256 bits', async () => {
    const file = path.join(scratch.dir, 'jwt-secret');
    await writeFile(file, `${Buffer.alloc(16, 7).toString('base64url')}\n`, { mode: 0o600 });
    const err = await loadOrCreateSecret(file).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(SecretFileError);
    expect((err as Error).message).to.match(/128 bits; at least 256/);
  });
});
