// Output and exit codes shared by hyperctl and hyper-cli. Exit codes (documented in the README):
// 0 ok, 1 failed, 2 usage, 3 not logged in or forbidden, 4 conflict or not ready. How an error
// becomes one of them, and its words, is cli/failure.ts.
import type { Color } from '../common/types.js';
import type { ReconcilerStatus } from '../common/status.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, auth: 3, conflict: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class UsageError extends Error {}

/** A failure a verb concludes itself (a build failed, a wait ran out): its exit code and a stable code for --json. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly code: string;
  constructor(exitCode: ExitCode, code: string, message: string) {
    super(message);
    this.exitCode = exitCode;
    this.code = code;
  }
}

export interface OutputOptions {
  json?: boolean;
}

/** How the list verbs print: a header line and a line per row, or `empty` when there are none. */
export function table<T>(rows: readonly T[], empty: string, header: string, line: (row: T) => string): string {
  return rows.length === 0 ? empty : [header, ...rows.map(line)].join('\n');
}

/** Prints `data` as JSON for scripts, or the human text otherwise. */
export function emit(options: OutputOptions, data: unknown, human: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

const PHASE_COLORS: Record<string, string> = {
  Ready: '32',
  Starting: '36',
  Building: '36',
  Testing: '36',
  Verifying: '36',
  Degraded: '33',
  Failed: '31',
  Empty: '90',
};

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(): boolean {
  return Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
}

function paint(text: string, phase: string): string {
  const code = PHASE_COLORS[phase];
  return useColor() && code ? `\u001b[${code}m${text}\u001b[0m` : text;
}

/** A status table: one line per color, the active one marked. */
export function formatStatus(status: ReconcilerStatus, revision: number | null): string {
  const lines = [
    `revision ${revision ?? '-'} (observed ${status.observedRevision ?? '-'})${status.paused ? '  PAUSED' : ''}`,
    `traffic  ${trafficOf(status)}    preview ${status.preview ?? 'none'}`,
    `weights  ${formatWeights(status.weights)}`,
  ];
  if (status.canary) lines.push(`canary   ${formatCanary(status.canary)}`);
  lines.push('', 'COLOR   PHASE      DESIRED           RUNNING           PID      MESSAGE');
  for (const color of ['blue', 'green'] as Color[]) {
    const c = status.colors?.[color];
    if (!c) continue;
    const mark = status.active === color ? '*' : ' ';
    lines.push(
      `${mark}${color.padEnd(7)}${paint(c.phase.padEnd(11), c.phase)}` +
        `${(c.desiredTag ?? '-').padEnd(18)}${(c.runningTag ?? '-').padEnd(18)}` +
        `${String(c.unit.mainPid ?? '-').padEnd(9)}${c.message}`,
    );
  }
  if (status.waiting) lines.push('', `waiting: ${status.waiting}`);
  const problems = problemsOf(status);
  lines.push('', problems.length === 0 ? 'problems: none' : 'problems:', ...problems.map((p) => `  ${p}`));
  const pass = status.lastPass
    ? ` (${status.lastPass.actions.length} action(s), ${status.lastPass.durationMs} ms)`
    : '';
  lines.push(`last reconcile ${status.lastReconcileAt ?? 'never'}${pass}`);
  return lines.join('\n');
}

/** Where public requests go: the active color, or where the proxy sends them while it is out. */
function trafficOf(status: ReconcilerStatus): string {
  const active = status.active ?? 'none';
  // An older daemon reports no `serving`.
  if (status.serving === undefined || status.serving === status.active) return active;
  return `${status.serving ?? 'none'} (failed over: ${active} is out of routing until it answers again)`;
}

/** `blue 90%  green 10%`, or `none` when no color serves. */
export function formatWeights(weights: ReconcilerStatus['weights']): string {
  if (!weights) return 'none';
  return (['blue', 'green'] as Color[]).map((c) => `${c} ${weights[c]}%`).join('  ');
}

function formatCanary(c: NonNullable<ReconcilerStatus['canary']>): string {
  const of = `step ${c.step} of ${c.steps.length + 1} (${[...c.steps, 100].join(' -> ')}%)`;
  switch (c.phase) {
    case 'stepping':
      return `${c.tag} on ${c.to}: ${c.weight}% of the clients, ${of}, since ${c.stepStartedAt ?? '-'}`;
    case 'restored':
      return `${c.tag} on ${c.to}: resumes at ${of} after a restart`;
    case 'promoting':
      return `${c.tag} on ${c.to}: every step passed or skipped; all traffic moves next`;
    default: {
      const never: never = c.phase;
      throw new Error(`unknown canary phase ${String(never)}`);
    }
  }
}

/** What needs an operator: failing colors and false conditions (Ready=False only means "not converged yet"). */
export function problemsOf(status: ReconcilerStatus): string[] {
  const problems: string[] = [];
  for (const color of ['blue', 'green'] as Color[]) {
    const c = status.colors?.[color];
    if (c && (c.phase === 'Failed' || c.phase === 'Degraded')) problems.push(`${color} ${c.phase}: ${c.message}`);
    else if (c?.smoke?.state === 'failed') problems.push(`${color} not promotable: ${c.smoke.message}`);
  }
  for (const c of status.conditions) {
    if (c.status === 'False' && c.type !== 'Ready') problems.push(`${c.type} ${c.reason}: ${c.message}`);
  }
  return problems;
}
