// Global teardown of every mocha run (.mocharc.json `require`). After the last test it stops what
// test files share (the systemd --user manager); then nothing of the suite should keep the process
// alive. If something still does a few seconds later -- a server, socket, timer or child a test did
// not close -- the run fails and names what is open, instead of hanging or being cut short silently.
import { stopSharedUserManager } from './systemd-user.js';

/** How long the process may take to end once the tests are done. */
const EXIT_DEADLINE_MS = 5_000;

export async function mochaGlobalTeardown(): Promise<void> {
  await stopSharedUserManager();
  // A deadline, not a wait: unref'd, so it fires only if something else keeps the process alive.
  const watchdog = setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((type) => type !== 'PipeWrap' && type !== 'TTYWrap');
    process.stderr.write(
      `\nThe tests are over but the process did not end within ${EXIT_DEADLINE_MS} ms; still open: ` +
        `${open.join(', ')}. A test left them open: close each where it is made.\n`,
    );
    // Mocha sets the exit code to the failure count on exit: this listener, added after its, wins.
    process.on('exit', () => (process.exitCode = 1));
    process.exit(1);
  }, EXIT_DEADLINE_MS);
  watchdog.unref();
}
