// The offending value as the operator wrote it, for error messages; cut short so a 300-byte tag
// or a large object stays readable.
export function describeValue(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
