// Why a transition (stage, switch, rollback) said no. Each refusal is its own class, matched by
// class (the API's central error handler turns them into HTTP answers); the message tells the
// operator what is wrong and how to fix it, and `details` carries the same facts for scripts.
import { HypervisorError } from '../common/errors.js';
import type { Color } from '../common/types.js';

/** A transition refused: the desired state stays as it was. */
export class TransitionRefusedError extends HypervisorError {
  readonly details: Record<string, unknown>;
  constructor(code: string, message: string, details: Record<string, unknown>) {
    super(code, message);
    this.details = details;
  }
}

/** The tag is in no release record and not in the backend repo. */
export class UnknownTagError extends TransitionRefusedError {
  readonly tag: string;
  readonly newest: readonly string[];
  constructor(tag: string, newest: readonly string[]) {
    const known = newest.length === 0 ? 'the repo has no release tags yet' : `the newest are ${newest.join(', ')}`;
    super('unknown_tag', `no tag ${tag} in the backend repo or the releases; ${known}`, { tag, newest });
    this.tag = tag;
    this.newest = newest;
  }
}

/** The tag's release failed its BUILD or TEST, or was rejected: staging it again would only fail again. */
export class ReleaseFailedError extends TransitionRefusedError {
  constructor(tag: string, status: 'failed' | 'rejected', error: string | null, logCommand: string | null) {
    const log = logCommand === null ? '' : `; its log: ${logCommand}`;
    super(`release_${status}`, `release ${tag} ${status}: ${error ?? 'no reason recorded'}${log}`, {
      tag,
      status,
      error,
      logCommand,
    });
  }
}

/** Traffic may only move to a color that is Ready at its desired tag. */
export class NotReadyError extends TransitionRefusedError {
  constructor(color: Color, message: string, details: Record<string, unknown> = {}) {
    super('not_ready', message, { color, ...details });
  }
}

/** The color is Ready but failed a promotion gate: traffic does not move to it until it passes. */
export class GateFailedError extends TransitionRefusedError {
  readonly gate: string;
  constructor(color: Color, gate: string, message: string, details: { tag: string | null; logCommand: string | null }) {
    super('gate_failed', message, { color, gate, ...details });
    this.gate = gate;
  }
}

/** A smoke run needs a color that runs the tag and is Ready. */
export class NotRunningError extends TransitionRefusedError {
  constructor(tag: string, message: string) {
    super('not_running', message, { tag });
  }
}

/** A smoke run of the tag is queued or running already: its result comes soon. */
export class SmokeRunningError extends TransitionRefusedError {
  constructor(tag: string, color: Color, logCommand: string | null) {
    const log = logCommand === null ? '' : `; follow it: ${logCommand} --follow`;
    super('smoke_running', `a smoke test of ${tag} against ${color} is already under way${log}`, {
      tag,
      color,
      logCommand,
    });
  }
}

/** No deployment to go back to: nothing serves, or only one color ever served. */
export class NothingToRollBackError extends TransitionRefusedError {
  constructor(message: string) {
    super('nothing_to_roll_back', message, {});
  }
}

/** The color that served before no longer runs the tag it served then. */
export class RollbackTargetChangedError extends TransitionRefusedError {
  constructor(message: string, details: { color: Color; servedTag: string; nowTag: string | null }) {
    super('rollback_target_changed', message, details);
  }
}
