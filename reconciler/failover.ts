// The data plane's failover rule, decided from one color's health history: a color that failed
// `failureThreshold` probes in a row is taken out of public routing; a probe that finds it Ready
// puts it back. The desired state is untouched (no revision, no ledger entry); each change of the
// router's failover is an event, worded here from what the router does after it.
import type { Color, NewEvent } from '../common/types.js';
import type { HealthHistory } from './health-history.js';
import type { Failover, TrafficRouter } from './ports.js';

export type RoutingVerdict = { kind: 'out'; why: string } | { kind: 'in' } | { kind: 'keep' };

export interface FailoverRule {
  failureThreshold: number;
  /** The bound of one probe, named in the reason of a stall. */
  timeoutMs: number;
}

/** What the router should do with `color` after the probe its history ends with. */
export function routingVerdict(color: Color, history: HealthHistory, rule: FailoverRule): RoutingVerdict {
  if (history.last === null) return { kind: 'keep' };
  if (history.last.ready) return { kind: 'in' };
  if (history.consecutiveFailures < rule.failureThreshold) return { kind: 'keep' };
  return { kind: 'out', why: outReason(color, history, rule.timeoutMs) };
}

function outReason(color: Color, history: HealthHistory, timeoutMs: number): string {
  const n = history.consecutiveFailures;
  if (history.consecutiveTimeouts === n) return `${color} stalled (${n} probes timed out after ${timeoutMs}ms)`;
  return `${color} failed ${n} probes in a row (last: ${history.last?.reason ?? 'none'})`;
}

/** The events of one change of the router's failover: the one that ended, then the one that began. */
export function failoverEvents(
  now: Failover | null,
  before: Failover | null,
  router: Pick<TrafficRouter, 'activeColor' | 'outOfRouting'>,
): NewEvent[] {
  const events: NewEvent[] = [];
  if (before) events.push(failedBack(before, router));
  if (now) {
    events.push({
      reason: 'FailedOver',
      color: now.from,
      message: `${now.why}; public traffic goes to ${now.to} until ${now.from} answers again`,
      data: { from: now.from, to: now.to, why: now.why },
    });
  }
  return events;
}

function failedBack(ended: Failover, router: Pick<TrafficRouter, 'activeColor' | 'outOfRouting'>): NewEvent {
  const { from, to } = ended;
  const active = router.activeColor();
  let why: string;
  if (active !== from) {
    why = `the failover from ${from} to ${to} ends: public traffic is routed to ${active ?? 'no color'} now`;
  } else if (router.outOfRouting(from) === null) {
    why = `${from} answers again: public traffic goes back to ${from}`;
  } else {
    const cause = router.outOfRouting(to) ?? `${to} is not Ready`;
    why = `${to} cannot take the traffic any more (${cause}): public traffic goes to ${from} again, unanswered`;
  }
  return { reason: 'FailedBack', color: from, message: why, data: { from, to } };
}
