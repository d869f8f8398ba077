// A unit's states in systemd's own vocabulary, as closed unions, and the one place that says what
// they mean for the hypervisor (running, starting, failed, stopped). The values are systemd's string
// tables (src/basic/unit-def.c; `systemctl --state=help` lists those of the installed version): load
// and active states of every unit, sub-states of the two unit types we read, services and scopes.
// A newer systemd may add values: they parse to 'unknown', and systemd's own word is kept beside it
// for the messages, so an operator still reads what systemd said.

export const LOAD_STATES = ['stub', 'loaded', 'not-found', 'bad-setting', 'error', 'merged', 'masked'] as const;

export const ACTIVE_STATES = [
  'active',
  'reloading',
  'refreshing',
  'inactive',
  'failed',
  'activating',
  'deactivating',
  'maintenance',
] as const;

/** Service sub-states, then the scope sub-states no service has (a build step runs in a scope). */
export const SUB_STATES = [
  'dead',
  'condition',
  'start-pre',
  'start',
  'start-post',
  'running',
  'exited',
  'reload',
  'reload-signal',
  'reload-notify',
  'stop',
  'stop-watchdog',
  'stop-sigterm',
  'stop-sigkill',
  'stop-post',
  'final-watchdog',
  'final-sigterm',
  'final-sigkill',
  'failed',
  'dead-before-auto-restart',
  'failed-before-auto-restart',
  'dead-resources-pinned',
  'auto-restart',
  'auto-restart-queued',
  'cleaning',
  'mounting',
  'start-chown',
  'abandoned',
] as const;

/** Whether systemd has the unit's definition in memory, and if not, why (`not-found`: no file). */
export type LoadState = (typeof LOAD_STATES)[number] | 'unknown';
/** The high-level state every unit has: up, down, or on its way between the two. */
export type ActiveState = (typeof ACTIVE_STATES)[number] | 'unknown';
/** The unit type's own finer state (`running`, `auto-restart`, `stop-sigterm`, ...). */
export type SubState = (typeof SUB_STATES)[number] | 'unknown';

/** systemd's words for the states it gave that this version does not know; each parsed to 'unknown'. */
export interface UnrecognizedStates {
  loadState?: string;
  activeState?: string;
  subState?: string;
}

export interface UnitState {
  loadState: LoadState;
  activeState: ActiveState;
  subState: SubState;
  /** Absent when every state is a known one. */
  unrecognized?: UnrecognizedStates;
}

/** The three states as systemd printed them, each parsed into its union. */
export function parseUnitState(words: { loadState: string; activeState: string; subState: string }): UnitState {
  const loadState = known(LOAD_STATES, words.loadState);
  const activeState = known(ACTIVE_STATES, words.activeState);
  const subState = known(SUB_STATES, words.subState);
  const unrecognized: UnrecognizedStates = {
    ...(loadState === 'unknown' ? { loadState: words.loadState } : {}),
    ...(activeState === 'unknown' ? { activeState: words.activeState } : {}),
    ...(subState === 'unknown' ? { subState: words.subState } : {}),
  };
  const state: UnitState = { loadState, activeState, subState };
  return Object.keys(unrecognized).length === 0 ? state : { ...state, unrecognized };
}

/** One state parsed into its union: 'unknown' for a word systemd's tables (as we know them) do not have. */
export function parseActiveState(word: string): ActiveState {
  return known(ACTIVE_STATES, word);
}

function known<T extends string>(values: readonly T[], word: string): T | 'unknown' {
  return (values as readonly string[]).includes(word) ? (word as T) : 'unknown';
}

/**
 * Running: its main process is up and serves (reloading and refreshing are an active unit's own
 * work). The one meaning of "running": a running unit is probed for health, and its MainPID is
 * the process whose health history is kept.
 */
export function isRunning(unit: Pick<UnitState, 'activeState'>): boolean {
  return unit.activeState === 'active' || unit.activeState === 'reloading' || unit.activeState === 'refreshing';
}

/** On its way up: starting, or waiting to restart by itself (sub-state `auto-restart`); systemd is at work. */
export function isStarting(unit: Pick<UnitState, 'activeState'>): boolean {
  return unit.activeState === 'activating';
}

/** Running or starting: systemd keeps it up, so the loop must neither start it nor think it stopped. */
export function isUp(unit: Pick<UnitState, 'activeState'>): boolean {
  return isRunning(unit) || isStarting(unit);
}

/** Failed: it went past systemd's own restarts (or its start limit); only a new start revives it. */
export function isFailed(unit: Pick<UnitState, 'activeState'>): boolean {
  return unit.activeState === 'failed';
}

/** Down and at rest: inactive or failed, with no process left and nothing under way. */
export function isStopped(unit: Pick<UnitState, 'activeState'>): boolean {
  return unit.activeState === 'inactive' || isFailed(unit);
}

/** systemd has the unit's definition loaded (`not-found`, `masked`, `bad-setting`, ... are not). */
export function isLoaded(unit: Pick<UnitState, 'loadState'>): boolean {
  return unit.loadState === 'loaded';
}

/** No unit file for it: nothing is installed under that name. */
export function isNotFound(unit: Pick<UnitState, 'loadState'>): boolean {
  return unit.loadState === 'not-found';
}

/** `active/running`, in systemd's own words (an unknown state shows the word systemd used). */
export function describeUnitState(unit: Pick<UnitState, 'activeState' | 'subState' | 'unrecognized'>): string {
  const active = unit.unrecognized?.activeState ?? unit.activeState;
  const sub = unit.unrecognized?.subState ?? unit.subState;
  return `${active}/${sub}`;
}
