// What the embedded store holds, counted from outside the daemon: proves that a refusal wrote nothing.
import Database from 'better-sqlite3';

export interface StoreCounts {
  githubEvents: number;
  releases: number;
  revisions: number;
}

/** Row counts of the embedded store file, read by a second connection (as hyperctl would). */
export function storeCounts(dbFile: string): StoreCounts {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const count = (table: string): number =>
      (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { githubEvents: count('github_events'), releases: count('releases'), revisions: count('desired') };
  } finally {
    db.close();
  }
}
