// How the dashboard writes times, durations and step results: the same words as hyper-cli.
import type { StepResult } from '../common/types.js';

export function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1_000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** `3 min ago`, from an ISO time. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  return `${duration(Math.max(0, now - Date.parse(iso)))} ago`;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/** A script run in words: `passed in 4 s`, `failed (exit 1) in 2 s`, `timed out after 10 min`. */
export function step(result: StepResult | null | undefined): string {
  if (!result) return '—';
  const took = duration(result.durationMs);
  if (result.timedOut) return `timed out after ${took}`;
  if (result.exitCode === 0) return `passed in ${took}`;
  const why = result.signal ? `signal ${result.signal}` : `exit ${result.exitCode}`;
  return `failed (${why}) in ${took}`;
}

export function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(fraction < 0.1 ? 1 : 0)}%`;
}
