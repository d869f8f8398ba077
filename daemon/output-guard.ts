// The daemon's stdout and stderr are often a file (the unit's `append:<root>/logs/hypervisor.log`)
// or a pipe (the demo). On a full disk every console.log then fails, and node reports that as an
// 'error' event on the stream, which ends the process when nobody listens: a log line would take the
// public port down with it. Here somebody listens. A line that cannot be written is lost; the
// stream is not closed by the error, so lines get through again once the disk has room.

/** Makes a failing stdout or stderr cost log lines, never the daemon. Call once, at start. */
export function guardOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    // Nothing is written from here: the other stream is most likely the same full file.
    stream.on('error', () => undefined);
  }
}
