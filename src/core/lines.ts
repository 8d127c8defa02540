/** One line of a text file: its content and its own line ending ('' for a last line without one). */
export interface TextLine {
  text: string;
  eol: string;
}

/**
 * Splits text into lines that keep their own endings (`\n`, `\r\n` or none), so that joining
 * `text + eol` gives back the input byte for byte: the base of every lossless editor here.
 */
export function splitLines(text: string): TextLine[] {
  const out: TextLine[] = [];
  const re = /([^\r\n]*)(\r\n|\n|$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0] === '' && m.index >= text.length) break;
    out.push({ text: m[1] ?? '', eol: m[2] ?? '' });
    if (m[2] === '') break;
  }
  return out;
}

/** Joins lines back into text. */
export function joinLines(lines: TextLine[]): string {
  return lines.map((l) => l.text + l.eol).join('');
}
