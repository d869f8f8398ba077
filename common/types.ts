// Shared nouns of the product (see ARCHITECTURE.md). Every layer may import this file; it imports nothing.

/** The two slots. A closed union: exhaustive switches over it are checked by the compiler. */
export type Color = 'blue' | 'green';
export const COLORS: readonly Color[] = ['blue', 'green'];

export function isColor(value: unknown): value is Color {
  return value === 'blue' || value === 'green';
}

export function otherColor(color: Color): Color {
  return color === 'blue' ? 'green' : 'blue';
}

/** What the operator wants. A color whose tag is null is stopped. */
export interface DesiredDoc {
  active: Color | null;
  colors: Record<Color, { tag: string | null }>;
  paused: boolean;
}

/** Where a revision came from: `api`, `file`, `webhook`, `git@<sha>`, `demo`, ... */
export type RevisionSource = string;

export interface Revision {
  /** Monotonic, unique across every host sharing the store. */
  number: number;
  doc: DesiredDoc;
  source: RevisionSource;
  author: string;
  /** ISO-8601 time the revision was written. */
  time: string;
}

export type ReleaseStatus = 'pending' | 'building' | 'testing' | 'succeeded' | 'failed' | 'rejected' | 'interrupted';

/** The outcome of one script run (BUILD or TEST). */
export interface StepResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  logPath: string;
  startedAt: string;
  finishedAt: string;
}

export interface ReleaseRecord {
  tag: string;
  sha: string | null;
  /** The content of VERSION at the tag (the tag without its `v`). */
  version: string | null;
  author: string | null;
  status: ReleaseStatus;
  /** Why the release failed or was rejected, for the operator. */
  error: string | null;
  build: StepResult | null;
  test: StepResult | null;
  /** Absolute path of the executable `<root>/artifacts/<tag>/<version>` once built. */
  artifactPath: string | null;
  createdAt: string;
  updatedAt: string;
  /** When the tag was made (the tagger's date, else the commit's). Absent in records of older versions. */
  taggedAt?: string | null;
  /** Who asked for this release to be built; null when a desired state named it. */
  origin?: ReleaseOrigin | null;
  /** Runs of this build cut short by a daemon restart in a row; a second one fails the release. */
  interruptions?: number;
  /** The last run of the smoke gate against a color running this release; null: none yet (or run again). */
  smoke?: SmokeResult | null;
}

/** One run of the smoke gate (gates.smoke): the script's StepResult, the color it ran against, and the outcome. */
export interface SmokeResult extends StepResult {
  color: Color;
  passed: boolean;
  /** How it ended, in words, e.g. `SMOKE exited with code 1`. */
  summary: string;
}

/** `webhook`: a signed GitHub delivery (actor: the pusher); `operator`: a rebuild on demand. */
export interface ReleaseOrigin {
  source: 'webhook' | 'operator';
  actor: string;
}

/**
 * Why a deployment stopped serving: traffic moved to the other color (`switched`), the same color
 * now runs another tag (`replaced`), no color serves any more (`stopped`), or a gate judged it
 * failed and traffic went back to what served before (`rolled_back`, with the verdict).
 */
export type DeploymentEnd = 'switched' | 'replaced' | 'stopped' | 'rolled_back';

/** One gate's result on a deployment (smoke before the switch, verification after it). */
export interface GateResult {
  name: string;
  result: 'passed' | 'failed' | 'skipped';
  /** In words and numbers, e.g. `error rate 37.5% (150 of 400) > 1% over 41 s`. */
  verdict: string;
  measured: Record<string, number>;
}

/**
 * One entry of the deployment ledger: a color served a tag to public traffic from `startedAt`
 * until `endedAt` (null while it still serves). Written when traffic really moves, never when
 * a desired state only asks for it.
 */
export interface Deployment {
  id: number;
  color: Color;
  tag: string;
  version: string | null;
  /** The desired-state revision that made this color serve this tag, its author and source. */
  revision: number;
  switchedBy: string;
  source: string;
  startedAt: string;
  endedAt: string | null;
  endReason: DeploymentEnd | null;
  /** The promotion gates' results (smoke before the switch, verification after it), one per gate name. */
  gates: GateResult[];
  /** What decided this deployment's fate, in words and numbers; null until a gate decided it. */
  verdict: string | null;
}

/** A new ledger entry; `gates` are those judged before the switch (the smoke gate), none when absent. */
export type NewDeployment = Pick<Deployment, 'color' | 'tag' | 'version' | 'revision' | 'switchedBy' | 'source'> &
  Partial<Pick<Deployment, 'gates'>>;

/** What a gate writes on a deployment: its result, and optionally the verdict and the end (a rollback). */
export interface GateRecord {
  gate: GateResult;
  /** Sets the deployment's verdict. */
  verdict?: string;
  /** Ends the deployment with this reason, when it is still open. */
  end?: DeploymentEnd;
}

export interface EventRecord {
  /** Monotonic within the store; followers resume after the last id they saw. */
  id: number;
  time: string;
  /** A short machine-readable reason, e.g. `BuildStarted`, `Switched`, `DesiredRejected`. */
  reason: string;
  message: string;
  color: Color | null;
  actor: string;
  data: Record<string, unknown> | null;
}

export type NewEvent = Omit<EventRecord, 'id' | 'time' | 'actor' | 'color' | 'data'> &
  Partial<Pick<EventRecord, 'actor' | 'color' | 'data'>>;

export interface GithubDelivery {
  deliveryId: string;
  event: string;
  /** The raw body exactly as received (the signature covers these bytes). */
  payload: string;
  receivedAt: string;
}

export type Role = 'viewer' | 'operator' | 'admin';

export interface Hyperuser {
  username: string;
  /** Self-describing hash string, parameters included. */
  passwordHash: string;
  roles: Role[];
  createdAt: string;
  updatedAt: string;
}

export interface Session {
  id: string;
  username: string;
  createdAt: string;
  expiresAt: string;
}

/** A color's lifecycle as the reconciler concludes it; `Verifying`: Ready, while its smoke gate runs. */
export type Phase = 'Empty' | 'Building' | 'Testing' | 'Starting' | 'Verifying' | 'Ready' | 'Degraded' | 'Failed';

/**
 * Failed logins of one account name (known or not), kept in the store so a restart does not forgive
 * them. `lockedUntil` is in the past when the name is not locked.
 */
export interface LoginLockoutRecord {
  name: string;
  /** Failures in a row since the last good login. */
  failures: number;
  /** Locks so far; the next one lasts twice as long as the last. */
  locks: number;
  lockedUntil: string;
  lastFailureAt: string;
  /** After this instant the record is forgotten (the store never returns it again). */
  expiresAt: string;
}

/**
 * What the store knows of its own integrity: `damaged` after a failed integrity check at start or a
 * corrupt page met since, and then every write is refused (StoreDamagedError) until it is repaired.
 */
export type StoreHealth = { state: 'ok'; detail: string } | { state: 'damaged'; detail: string; fix: string };
