// A test backend (http-backends.ts) in a child process of its own, so a test can `kill -9` it the
// way a crashing backend dies: sockets reset by the kernel, nothing said first.
//   node dist/test/harness/backend-process.js <color> [port]   prints `ready <port>`
import { isColor } from '../../common/types.js';
import { startBackend } from './http-backends.js';

const [color, port] = process.argv.slice(2);
if (!isColor(color)) {
  process.stderr.write(`usage: backend-process.js blue|green [port] (got ${String(color)})\n`);
  process.exit(2);
}
const backend = await startBackend(color, Number(port ?? 0));
process.stdout.write(`ready ${backend.port}\n`);
process.once('SIGTERM', () => void backend.close().finally(() => process.exit(0)));
// The test that started us may itself be killed; never outlive it.
process.stdin.once('close', () => void backend.close().finally(() => process.exit(0)));
process.stdin.resume();
