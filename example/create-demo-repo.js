#!/usr/bin/env node
// Creates the demo's backend repository: a git repo holding a copy of example/backend with one
// release tag. Idempotent: a repo that already has a release tag is left as it is, so `npm start`
// can call this on every run. Usage: node example/create-demo-repo.js PATH
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BACKEND = path.join(path.dirname(fileURLToPath(import.meta.url)), 'backend');
const GIT_TIMEOUT_MS = 30_000;
const RELEASE_TAG = /^v\d{2}\.\d{2}\.\d{2}\.\d+$/;

function git(dir, args) {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', timeout: GIT_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function isRepo(dir) {
  return fs.existsSync(path.join(dir, '.git'));
}

/** The newest release tag of the repo, or null. */
function latestTag(dir) {
  const tags = git(dir, ['tag', '--list', '--sort=-v:refname', 'v*']).split('\n');
  return tags.find((tag) => RELEASE_TAG.test(tag)) ?? null;
}

function initRepo(dir) {
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    throw new Error(`${dir} exists, is not empty and is not a git repository; remove it or pick another path`);
  }
  fs.cpSync(BACKEND, dir, { recursive: true });
  git(dir, ['init', '--quiet', '--initial-branch=main']);
  git(dir, ['config', 'user.name', 'openhack demo']);
  git(dir, ['config', 'user.email', 'demo@openhack.invalid']);
  git(dir, ['add', '--all']);
  git(dir, ['commit', '--quiet', '-m', 'Example backend']);
}

function release(dir) {
  return execFileSync(process.execPath, [path.join(dir, 'RELEASE')], { cwd: dir, encoding: 'utf8', timeout: GIT_TIMEOUT_MS }).trim();
}

/**
 * Makes sure `dir` is a git repo of the example backend with at least one release tag.
 * @returns the repo path, its newest release tag, and whether anything was created.
 */
export function createDemoRepo(dir) {
  const repo = path.resolve(dir);
  const created = !isRepo(repo);
  if (created) initRepo(repo);
  const existing = latestTag(repo);
  if (existing !== null) return { path: repo, tag: existing, created };
  return { path: repo, tag: release(repo), created: true };
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [dir] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: node example/create-demo-repo.js PATH');
    process.exit(2);
  }
  try {
    const result = createDemoRepo(dir);
    console.log(`${result.created ? 'created' : 'kept'} ${result.path} at ${result.tag}`);
  } catch (err) {
    console.error(`create-demo-repo: ${err.message}`);
    process.exit(1);
  }
}
