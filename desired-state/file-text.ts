// The desired file's text: the canonical document under a one-line header naming the revision it
// holds. The header is what lets the file source apply a hand edit as the change from that
// revision (fields the edit did not touch keep their current values) instead of as a whole
// document that would undo whatever was written since.
import type { Revision } from '../common/types.js';
import { formatDesiredYaml } from './yaml.js';

/** Only the first line counts, and only its revision number: the rest is for the reader. */
const HEADER = /^# revision (\d{1,12}) from /;

/**
 * E.g. `# revision 12 from api by ana at 2026-11-27T10:00:00.000Z -- edits to this file are applied
 * as changes from revision 12`, then the document as formatDesiredYaml writes it.
 */
export function renderDesiredFile(revision: Revision): string {
  const { number, source, author, time } = revision;
  const header =
    `# revision ${number} from ${oneLine(source)} by ${oneLine(author)} at ${time}` +
    ` -- edits to this file are applied as changes from revision ${number}`;
  return `${header}\n${formatDesiredYaml(revision.doc)}`;
}

/** The revision named by the text's header; null for a file written from scratch (no header). */
export function baseRevision(text: string): number | null {
  const match = HEADER.exec(text);
  return match ? Number(match[1]) : null;
}

/** A source or author with a line break would end the comment early and put text into the YAML. */
function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ');
}
