// The example backend against its own contract: RELEASE numbering and tags, BUILD's executable,
// the server's flags, endpoints and SIGTERM, and TEST. Real files, real git, real processes.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { simpleGit } from 'simple-git';
import { createExampleRepo, exampleBackendDir, startBackend, type ExampleRepo } from '../harness/example-repo.js';

const run = promisify(execFile);
const RUN_TIMEOUT_MS = 20_000;

/** Runs a script of the example with node; resolves with its exit code and output, never rejects on exit code. */
async function script(
  file: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [file, ...args], { cwd, timeout: RUN_TIMEOUT_MS });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function todayUtc(): string {
  return new Date().toISOString().slice(2, 10).replaceAll('-', '.');
}

async function get(port: number, urlPath: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

describe('example backend', function () {
  let base: string;
  let repo: ExampleRepo;

  beforeEach(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'example-backend-'));
    repo = await createExampleRepo(path.join(base, 'repo'));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  describe('RELEASE', () => {
    it('--set writes VERSION, commits it and puts an annotated tag on that commit', async () => {
      const tag = await repo.release('20.01.02.5');
      expect(tag).to.equal('v20.01.02.5');
      const git = simpleGit(repo.path);
      expect((await git.raw(['cat-file', '-t', tag])).trim()).to.equal('tag');
      expect((await git.show([`${tag}:VERSION`])).trim()).to.equal('20.01.02.5');
      expect((await git.status()).isClean()).to.equal(true);
    });

    it('bumps to today (UTC) .0, then counts up on the same day', async () => {
      await repo.release('20.01.02.5');
      expect(await repo.release()).to.equal(`v${todayUtc()}.0`);
      expect(await repo.release()).to.equal(`v${todayUtc()}.1`);
      expect((await readFile(path.join(repo.path, 'VERSION'), 'utf8')).trim()).to.equal(`${todayUtc()}.1`);
    });

    it('--no-git only writes the file', async () => {
      await repo.release(`${todayUtc()}.4`);
      const result = await script(path.join(repo.path, 'RELEASE'), ['--no-git'], repo.path);
      expect(result.stdout.trim()).to.equal(`v${todayUtc()}.5`);
      const git = simpleGit(repo.path);
      expect((await git.tags()).all).to.not.include(`v${todayUtc()}.5`);
      expect((await git.status()).modified).to.deep.equal(['VERSION']);
    });

    for (const bad of ['26.13.01.0', '26.11.32.0', '26.11.27', 'v26.11.27.0', '26.11.27.01', '26.11.27.0; rm -rf /']) {
      it(`refuses --set ${JSON.stringify(bad)} and changes nothing`, async () => {
        const result = await script(path.join(repo.path, 'RELEASE'), ['--set', bad], repo.path);
        expect(result.code).to.equal(2);
        expect(result.stderr).to.match(/YY\.MM\.DD\.B/);
        expect((await readFile(path.join(repo.path, 'VERSION'), 'utf8')).trim()).to.equal('26.11.27.0');
      });
    }

    it('refuses a tag that exists, leaving VERSION alone', async () => {
      await repo.release('20.01.02.5');
      await repo.commitFile('VERSION', '20.01.02.6\n', 'move on');
      const result = await script(path.join(repo.path, 'RELEASE'), ['--set', '20.01.02.5'], repo.path);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.match(/already exists/);
      expect((await readFile(path.join(repo.path, 'VERSION'), 'utf8')).trim()).to.equal('20.01.02.6');
    });
  });

  describe('BUILD and the built executable', () => {
    it('writes DIR/<version>, mode 755, with a shebang naming this node', async () => {
      const out = path.join(base, 'out');
      const result = await script(path.join(repo.path, 'BUILD'), ['--output', out], repo.path);
      expect(result.code, result.stderr).to.equal(0);
      const exe = path.join(out, '26.11.27.0');
      expect((await stat(exe)).mode & 0o777).to.equal(0o755);
      expect((await readFile(exe, 'utf8')).split('\n')[0]).to.equal(`#!${process.execPath}`);
      expect(JSON.parse(await readFile(path.join(out, 'package.json'), 'utf8'))).to.include({ type: 'commonjs' });
    });

    it('refuses bad arguments', async () => {
      for (const args of [[], ['--output'], ['--out', 'x'], ['--output', 'x', 'y']]) {
        const result = await script(path.join(repo.path, 'BUILD'), args, repo.path);
        expect(result.code, args.join(' ')).to.not.equal(0);
        expect(result.stderr).to.match(/usage: BUILD --output DIR/);
      }
    });

    // The artifact may land under a package.json of either module type (e.g. the repo's own "type": "module").
    for (const moduleType of ['commonjs', 'module']) {
      it(`runs under a "type": "${moduleType}" package and answers the contract`, async () => {
        const out = path.join(base, moduleType, 'artifacts');
        await mkdir(out, { recursive: true });
        await writeFile(path.join(base, moduleType, 'package.json'), JSON.stringify({ type: moduleType }));
        await script(path.join(repo.path, 'BUILD'), ['--output', out], repo.path);
        const envRoot = path.join(base, 'env');
        await mkdir(envRoot, { recursive: true });
        await writeFile(path.join(envRoot, '.env'), '# greeting for the test\nGREETING="Salut"\nOTHER=1\n');
        const backend = await startBackend(path.join(out, '26.11.27.0'), {
          deployment: 'staging',
          envRoot,
          version: '26.11.27.0',
        });
        try {
          expect(await get(backend.port, '/ping')).to.include({ status: 200, body: 'pong' });
          const version = await get(backend.port, '/version');
          expect(version).to.include({ status: 200, body: '26.11.27.0' });
          expect(version.type).to.match(/^text\/plain/);
          const hello = JSON.parse((await get(backend.port, '/')).body) as Record<string, unknown>;
          expect(hello).to.include({
            greeting: 'Salut',
            version: '26.11.27.0',
            deployment: 'staging',
            port: backend.port,
          });
          expect((await get(backend.port, '/nope')).status).to.equal(404);
        } finally {
          expect(await backend.stop()).to.deep.equal({ code: 0, signal: null });
        }
      });
    }

    it('refuses missing or invalid flags with exit 2 and a message', async () => {
      const server = path.join(exampleBackendDir(), 'server.js');
      const good = ['--deployment', 'prod', '--port', '0', '--env-root', base, '--app-version', '26.11.27.0'];
      const cases: Array<[string[], RegExp]> = [
        [[], /missing --deployment/],
        [good.slice(0, 6), /missing --app-version/],
        [good.map((v) => (v === '0' ? '70000' : v)), /--port must be 0-65535/],
        [good.map((v) => (v === 'prod' ? 'pr od' : v)), /--deployment must match/],
        [good.map((v) => (v === '26.11.27.0' ? '26.11.27.9' : v)), /does not match this build/],
        [[...good, '--color', 'blue'], /unknown argument "--color"/],
      ];
      for (const [args, message] of cases) {
        const result = await script(server, args, base);
        expect(result.code, args.join(' ')).to.equal(2);
        expect(result.stderr).to.match(message);
      }
    });
  });

  describe('TEST', () => {
    it('passes on the example and fails when asked for another version', async () => {
      const pass = await script(
        path.join(repo.path, 'TEST'),
        ['--env-root', path.join(base, 'no-env'), '--app-version', '26.11.27.0'],
        repo.path,
      );
      expect(pass.code, pass.stdout + pass.stderr).to.equal(0);
      expect(pass.stdout).to.match(/TEST passed/);
      const greeting = await script(path.join(repo.path, 'TEST'), [], repo.path);
      expect(greeting.stdout).to.match(/greets with \.env GREETING/);
      const fail = await script(path.join(repo.path, 'TEST'), ['--app-version', '26.11.27.3'], repo.path);
      expect(fail.code).to.equal(1);
      expect(fail.stderr).to.match(/TEST failed/);
    });
  });
});
