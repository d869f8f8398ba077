// The event trail, live, newest first; filtered by kind (the event's reason) and color.
import { useState } from 'preact/hooks';
import { time } from './format.js';
import { useLive } from './live.js';

export function Events() {
  const { events } = useLive();
  const [kind, setKind] = useState('');
  const [color, setColor] = useState('');
  const kinds = [...new Set(events.map((e) => e.reason))].sort();
  const shown = events.filter(
    (e) => (kind === '' || e.reason === kind) && (color === '' || (e.color ?? 'none') === color),
  );
  return (
    <div>
      <h1>Events</h1>
      <form class="filters" aria-label="Filter events" onSubmit={(e) => e.preventDefault()}>
        <label for="event-kind">Kind</label>
        <select id="event-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
          <option value="">all</option>
          {kinds.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
        <label for="event-color">Color</label>
        <select id="event-color" value={color} onChange={(e) => setColor(e.currentTarget.value)}>
          <option value="">all</option>
          <option value="blue">blue</option>
          <option value="green">green</option>
          <option value="none">none</option>
        </select>
        <span role="status">
          {shown.length} of {events.length}
        </span>
      </form>
      <div class="table">
        <table>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Kind</th>
              <th scope="col">Color</th>
              <th scope="col">By</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr key={e.id}>
                <td>{time(e.time)}</td>
                <td class="reason">{e.reason}</td>
                <td class={e.color ? `swatch ${e.color}` : undefined}>{e.color ?? '—'}</td>
                <td>{e.actor}</td>
                <td>{e.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
