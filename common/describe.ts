// The offending value as the operator wrote it, for error messages; cut short so a 300-byte tag
// or a large object stays readable. It reads like JSON.stringify but writes at most 81 characters,
// so any value is safe to describe: a deep or circular one costs at most 81 steps, never the stack.
const SHOWN = 80;

export function describeValue(value: unknown): string {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return cut(String(value));
  const out = new Budget(SHOWN + 1);
  write(value, out);
  return cut(out.text());
}

function cut(text: string): string {
  return text.length > SHOWN ? `${text.slice(0, SHOWN - 3)}...` : text;
}

/** Collects text until `left` characters are written; everything after that is dropped. */
class Budget {
  #parts: string[] = [];
  #left: number;
  constructor(size: number) {
    this.#left = size;
  }
  get full(): boolean {
    return this.#left <= 0;
  }
  add(text: string): void {
    if (this.full) return;
    const kept = text.slice(0, this.#left);
    this.#parts.push(kept);
    this.#left -= kept.length;
  }
  text(): string {
    return this.#parts.join('');
  }
}

/** Each level writes a character before it descends, so recursion stops within the budget. */
function write(value: unknown, out: Budget): void {
  if (out.full) return;
  if (value === null || value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    out.add('null');
  } else if (typeof value === 'string') {
    out.add(JSON.stringify(value.slice(0, SHOWN)));
  } else if (typeof value === 'number') {
    out.add(Number.isFinite(value) ? String(value) : 'null');
  } else if (typeof value === 'boolean' || typeof value === 'bigint') {
    out.add(String(value));
  } else if (value instanceof Date) {
    out.add(Number.isNaN(value.getTime()) ? 'null' : JSON.stringify(value.toISOString()));
  } else if (Array.isArray(value)) {
    writeArray(value, out);
  } else {
    writeObject(value as Record<string, unknown>, out);
  }
}

function writeArray(value: readonly unknown[], out: Budget): void {
  out.add('[');
  for (let i = 0; i < value.length && !out.full; i++) {
    if (i > 0) out.add(',');
    write(value[i], out);
  }
  out.add(']');
}

function writeObject(value: Record<string, unknown>, out: Budget): void {
  out.add('{');
  let first = true;
  for (const key in value) {
    if (out.full) break;
    const item = value[key];
    if (!Object.hasOwn(value, key) || item === undefined || typeof item === 'function' || typeof item === 'symbol')
      continue;
    if (!first) out.add(',');
    first = false;
    out.add(`${JSON.stringify(key.slice(0, SHOWN))}:`);
    write(item, out);
  }
  out.add('}');
}
