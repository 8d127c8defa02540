import assert from 'node:assert/strict';

/** Lines of a text, each with its own newline (the last may have none). */
export function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * Asserts that `after` is `before` plus inserted lines only (every original line kept, byte for
 * byte and in order) and returns the inserted ones as [index in after, line].
 */
export function insertions(before: string, after: string): Array<[number, string]> {
  const a = linesOf(before);
  const added: Array<[number, string]> = [];
  let i = 0;
  linesOf(after).forEach((line, j) => {
    if (i < a.length && line === a[i]) i++;
    else added.push([j, line]);
  });
  assert.equal(i, a.length, 'every original line must be kept, byte for byte and in order');
  return added;
}
