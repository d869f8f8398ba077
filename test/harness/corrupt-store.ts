// Damages an embedded store file the way a failing disk does: one page of one table overwritten
// with garbage, found with SQLite's dbstat table. The file must not be open in another process.
import { openSync, closeSync, writeSync } from 'node:fs';
import Database from 'better-sqlite3';

/** Overwrites the first leaf page of `table` (its root when it has one page) and returns its number. */
export function corruptTablePage(file: string, table: string): number {
  const db = new Database(file);
  let page: number;
  let size: number;
  try {
    // Everything committed goes into the main file first, so the page overwritten is the live one.
    db.pragma('wal_checkpoint(TRUNCATE)');
    const found = db
      .prepare("SELECT pageno FROM dbstat WHERE name = ? ORDER BY pagetype = 'leaf' DESC, pageno LIMIT 1")
      .get(table) as { pageno: number } | undefined;
    if (!found) throw new Error(`${file} has no table ${table}`);
    page = found.pageno;
    size = db.pragma('page_size', { simple: true }) as number;
  } finally {
    db.close();
  }
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Buffer.alloc(size, 0xab), 0, size, (page - 1) * size);
  } finally {
    closeSync(fd);
  }
  return page;
}
