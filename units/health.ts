// One health probe of a color's backend: Ready means the readiness path answers 2xx AND the
// version path names exactly the version we deployed, so a stale process on the port is not Ready.
// A probe never throws: every failure becomes `ready: false` with a reason for the operator, and
// says whether it ran out of time, which is how a stalled process (SIGSTOP, a blocked event loop)
// looks from outside: the kernel still accepts the connection, nothing answers.

export interface ProbeOptions {
  port: number;
  /** Loopback: the hypervisor only probes backends on its own host. @default '127.0.0.1' */
  host?: string;
  readyPath: string;
  versionPath: string;
  expectedVersion: string;
  /** Bound for each request, connect to last body byte. */
  timeoutMs: number;
}

export interface ProbeResult {
  ready: boolean;
  /** The trimmed body of the version path when it answered 2xx; null otherwise. */
  version: string | null;
  reason: string;
  /** True when the probe failed because a request got no answer within `timeoutMs`. */
  timedOut: boolean;
}

/** Version bodies are one short line; a longer body is cut so a reason never carries a page of HTML. */
const MAX_VERSION_BYTES = 1024;

export async function probeHealth(options: ProbeOptions): Promise<ProbeResult> {
  const base = baseUrl(options.host ?? '127.0.0.1', options.port);
  const [ready, version] = await Promise.all([
    get(base, options.readyPath, options.timeoutMs),
    get(base, options.versionPath, options.timeoutMs),
  ]);
  const found = version.ok ? version.body.trim() : null;
  if (!ready.ok) {
    return { ready: false, version: found, reason: `${options.readyPath}: ${ready.reason}`, timedOut: ready.timedOut };
  }
  if (!version.ok) {
    const reason = `${options.versionPath}: ${version.reason}`;
    return { ready: false, version: null, reason, timedOut: version.timedOut };
  }
  if (found !== options.expectedVersion) {
    return {
      ready: false,
      version: found,
      reason: `version is ${JSON.stringify(found)}, expected ${JSON.stringify(options.expectedVersion)}`,
      timedOut: false,
    };
  }
  return { ready: true, version: found, reason: 'ready', timedOut: false };
}

type GetResult = { ok: true; body: string } | { ok: false; reason: string; timedOut: boolean };

async function get(base: string, urlPath: string, timeoutMs: number): Promise<GetResult> {
  try {
    // A redirect is not an answer of the backend itself: 3xx counts as not ready.
    const res = await fetch(base + urlPath, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    const body = (await res.text()).slice(0, MAX_VERSION_BYTES);
    if (res.status < 200 || res.status > 299) return { ok: false, reason: `answered ${res.status}`, timedOut: false };
    return { ok: true, body };
  } catch (err) {
    const timedOut = isTimeout(err);
    return { ok: false, reason: timedOut ? `timed out after ${timeoutMs}ms` : describeFailure(err), timedOut };
  }
}

function isTimeout(err: unknown): boolean {
  const name = (err as Error).name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function describeFailure(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  switch (e.cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    default:
      return e.cause?.message ?? e.message;
  }
}

function baseUrl(host: string, port: number): string {
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}
