// Every change of a color's phase is a decision worth an event; passes that change no phase stay
// quiet, however their messages vary (a countdown to the next restart, a probe's reason).
import type { ColorReport } from '../common/status.js';
import { COLORS, type Color, type NewEvent, type Phase } from '../common/types.js';

export class PhaseEvents {
  /** The phase each color's last event announced; none yet after a (re)start. */
  readonly #announced = new Map<Color, Phase>();

  /** The events for the colors whose phase differs from the one last announced, now announced. */
  changes(colors: Record<Color, ColorReport> | null): NewEvent[] {
    if (colors === null) return [];
    return COLORS.flatMap((color): NewEvent[] => {
      const { phase, message } = colors[color];
      if (this.#announced.get(color) === phase) return [];
      this.#announced.set(color, phase);
      return [
        {
          reason: `Phase${phase}`,
          color,
          message: `${color} is ${phase}: ${message}`,
          data: { tag: colors[color].desiredTag, runningTag: colors[color].runningTag, phase },
        },
      ];
    });
  }
}
