// Depth checks that run on the text, before anything recursive sees the document. JSON.parse is
// iterative in V8, but JSON.stringify, yaml's composer and toJS, and our own validators recurse:
// 30,000 nested `[` overflowed the stack in them. Both scans here are loops with a bounded stack.
import { Parser, type CST } from 'yaml';
import { MAX_NESTING, TooDeepError } from './limits.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_SQUARE = 0x5b;
const CLOSE_SQUARE = 0x5d;
const OPEN_CURLY = 0x7b;
const CLOSE_CURLY = 0x7d;

/** Throws TooDeepError when JSON `text` nests deeper than `limit`; says nothing about its validity. */
export function checkJsonNesting(text: string, what: string, limit = MAX_NESTING): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_SQUARE || c === OPEN_CURLY) {
      if (++depth > limit) throw new TooDeepError(what, limit);
    } else if (c === CLOSE_SQUARE || c === CLOSE_CURLY) {
      // A stray closer is a syntax error JSON.parse reports; it must not buy extra depth here.
      depth = Math.max(0, depth - 1);
    }
  }
}

/**
 * Throws TooDeepError when YAML `text` nests deeper than `limit`: block and flow collections count
 * alike. yaml's CST parser keeps its own stack, so it reads any depth; the walk below is a loop.
 */
export function checkYamlNesting(text: string, what: string, limit = MAX_NESTING): void {
  const pending: Array<{ token: CST.Token; depth: number }> = [];
  for (const token of new Parser().parse(text)) pending.push({ token, depth: 0 });
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const depth = isCollection(next.token) ? next.depth + 1 : next.depth;
    if (depth > limit) throw new TooDeepError(what, limit);
    for (const child of children(next.token)) pending.push({ token: child, depth });
  }
}

function isCollection(token: CST.Token): boolean {
  return token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection';
}

function children(token: CST.Token): CST.Token[] {
  switch (token.type) {
    case 'document':
      return token.value ? [token.value] : [];
    case 'block-map':
    case 'block-seq':
    case 'flow-collection': {
      const found: CST.Token[] = [];
      for (const item of token.items) {
        if (item.key) found.push(item.key);
        if (item.value) found.push(item.value);
      }
      return found;
    }
    default:
      return [];
  }
}
