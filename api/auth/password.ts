// Password hashing: scrypt at OWASP's parameters (N=2^17, r=8, p=1), kept with the hash in a
// self-describing string `$scrypt$ln=17,r=8,p=1$<salt>$<key>` so the cost can rise later without
// breaking stored hashes. Hashing runs in a small queue: each one holds 128 MiB for ~0.3 s, and a
// login flood must queue (or be told to come back) rather than exhaust the host's memory.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import PQueue from 'p-queue';
import { HypervisorError, ValidationError } from '../../common/errors.js';

/** The longest password accepted, in UTF-8 bytes; longer ones are refused before any hashing. */
export const MAX_PASSWORD_BYTES = 512;
/** New passwords only: a login with a shorter one is just a wrong password. */
export const MIN_PASSWORD_CHARS = 8;

const CURRENT = { ln: 17, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
// A stored hash is trusted input only within these bounds: a hand-edited ln=30 must not hang a login.
const BOUNDS = { ln: [14, 20], r: [1, 32], p: [1, 4] } as const;
const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d)\$([A-Za-z0-9+/]{22,})\$([A-Za-z0-9+/]{43,})$/;
const LONE_SURROGATE = /\p{Cs}/u;

interface Params {
  ln: number;
  r: number;
  p: number;
}

/** Too many logins are hashing at once; the caller answers 503 with Retry-After. */
export class HasherBusyError extends HypervisorError {
  constructor() {
    super('busy', 'too many logins in progress; try again in a second');
  }
}

/**
 * Checks a password's shape; returns it NFC-normalised, so the same password typed on two systems
 * that compose characters differently hashes the same. Any Unicode (NUL, emoji) is allowed; lone
 * surrogates are not, because UTF-8 would turn several of them into the same bytes.
 */
export function normalizePassword(password: string, field = 'password'): string {
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new ValidationError(field, `must be at most ${MAX_PASSWORD_BYTES} bytes of UTF-8`);
  }
  if (LONE_SURROGATE.test(password)) throw new ValidationError(field, 'must be valid Unicode (no lone surrogates)');
  const normalized = password.normalize('NFC');
  if (Buffer.byteLength(normalized, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new ValidationError(field, `must be at most ${MAX_PASSWORD_BYTES} bytes of UTF-8`);
  }
  return normalized;
}

/** For passwords being set (create, passwd): also a minimum length. */
export function checkNewPassword(password: string, field = 'password'): string {
  const normalized = normalizePassword(password, field);
  if ([...normalized].length < MIN_PASSWORD_CHARS) {
    throw new ValidationError(field, `must be at least ${MIN_PASSWORD_CHARS} characters`);
  }
  return normalized;
}

export class PasswordHasher {
  readonly #queue: PQueue;
  readonly #maxWaiting: number;
  #dummy: Promise<string> | null = null;

  /**
   * @param concurrency hashes at once (each holds 128 MiB).
   * @param maxWaiting queued beyond that before HasherBusyError.
   */
  constructor(options: { concurrency?: number; maxWaiting?: number } = {}) {
    const concurrency = options.concurrency ?? 2;
    const maxWaiting = options.maxWaiting ?? 64;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    if (!Number.isInteger(maxWaiting) || maxWaiting < 0)
      throw new RangeError(`maxWaiting must be 0 or more, got ${maxWaiting}`);
    this.#queue = new PQueue({ concurrency });
    this.#maxWaiting = maxWaiting;
  }

  /** Hashes a password already passed through normalizePassword / checkNewPassword. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await this.#derive(password, salt, CURRENT);
    return `$scrypt$ln=${CURRENT.ln},r=${CURRENT.r},p=${CURRENT.p}$${b64(salt)}$${b64(key)}`;
  }

  /** Constant-time check. A malformed stored hash never matches (and still costs one hash). */
  async verify(password: string, stored: string): Promise<boolean> {
    const parsed = parseHash(stored);
    if (!parsed) {
      await this.verify(password, await this.dummyHash());
      return false;
    }
    const key = await this.#derive(password, parsed.salt, parsed.params);
    return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
  }

  /**
   * A hash of a random password nobody knows, with the current parameters: an unknown user is
   * checked against it so that its answer takes as long as a wrong password's.
   */
  dummyHash(): Promise<string> {
    this.#dummy ??= this.hash(randomBytes(24).toString('base64')).catch((err: unknown) => {
      this.#dummy = null;
      throw err;
    });
    return this.#dummy;
  }

  /** A stored hash made with other parameters than today's: rehash it at the next good login. */
  needsRehash(stored: string): boolean {
    const parsed = parseHash(stored);
    return !parsed || parsed.params.ln !== CURRENT.ln || parsed.params.r !== CURRENT.r || parsed.params.p !== CURRENT.p;
  }

  #derive(password: string, salt: Buffer, params: Params): Promise<Buffer> {
    if (this.#queue.size >= this.#maxWaiting) return Promise.reject(new HasherBusyError());
    return this.#queue.add(() => scrypt(password, salt, params), { throwOnTimeout: true });
  }
}

function scrypt(password: string, salt: Buffer, { ln, r, p }: Params): Promise<Buffer> {
  const N = 2 ** ln;
  // Node's default maxmem (32 MiB) is below what N=2^17, r=8 needs (128 * N * r = 128 MiB).
  const options: ScryptOptions = { N, r, p, maxmem: 128 * N * r * p + 32 * 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCb(Buffer.from(password, 'utf8'), salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function parseHash(stored: string): { params: Params; salt: Buffer; key: Buffer } | null {
  const match = FORMAT.exec(stored);
  if (!match) return null;
  const params = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  for (const name of ['ln', 'r', 'p'] as const) {
    const [min, max] = BOUNDS[name];
    if (params[name] < min || params[name] > max) return null;
  }
  return { params, salt: Buffer.from(match[4]!, 'base64'), key: Buffer.from(match[5]!, 'base64') };
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}
