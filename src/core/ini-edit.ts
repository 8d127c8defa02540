import { joinLines, splitLines, type TextLine } from './lines.ts';

/**
 * A lossless editor for fail2ban's INI dialect (Python ConfigParser): it changes the value of the
 * keys it is asked to and keeps every other byte (comments, order, blank lines, spacing, CRLF).
 * The `ini` package is not used for writing because its stringify drops comments.
 */

type Line = TextLine;

interface KeyBlock {
  key: string; // lower-cased, as ConfigParser compares them
  start: number; // index of the `key = value` line
  end: number; // exclusive: after its continuation lines
}

interface SectionBlock {
  name: string;
  header: number; // index of the [name] line, -1 for lines before any header
  end: number; // exclusive
  keys: KeyBlock[];
}

const HEADER = /^\[([^\]\r\n]+)\]\s*(?:[#;].*)?$/;
const KEY = /^([^\s=:#;[][^=:]*?)\s*[=:]/;

function scan(lines: Line[]): SectionBlock[] {
  const sections: SectionBlock[] = [{ name: '', header: -1, end: 0, keys: [] }];
  let current = sections[0]!;
  let key: KeyBlock | null = null;
  lines.forEach((line, i) => {
    const t = line.text;
    const h = HEADER.exec(t);
    if (h) {
      if (key) key.end = i;
      key = null;
      current.end = i;
      current = { name: h[1]!.trim(), header: i, end: lines.length, keys: [] };
      sections.push(current);
      return;
    }
    const isBlank = t.trim() === '';
    const isIndented = /^[ \t]/.test(t);
    if (key && isIndented && !isBlank) return; // continuation line of the current value
    if (key) {
      key.end = i;
      key = null;
    }
    const trimmed = t.trimStart();
    if (isBlank || trimmed.startsWith('#') || trimmed.startsWith(';')) return;
    const k = KEY.exec(t);
    if (k && !isIndented) {
      key = { key: k[1]!.trim().toLowerCase(), start: i, end: i + 1 };
      current.keys.push(key);
    }
  });
  if (key) (key as KeyBlock).end = lines.length;
  current.end = lines.length;
  return sections;
}

/**
 * A text's lines and sections, parsed once: a run asks the same few files (jail.local above all)
 * for dozens of keys, and splitting and scanning them each time was most of the planner's time.
 * Read-only: an edit splits the text afresh.
 */
const parsedTexts = new Map<string, { lines: Line[]; sections: SectionBlock[] }>();
function parse(text: string): { lines: Line[]; sections: SectionBlock[] } {
  let p = parsedTexts.get(text);
  if (!p) {
    const lines = splitLines(text);
    p = { lines, sections: scan(lines) };
    if (parsedTexts.size >= 16) parsedTexts.delete(parsedTexts.keys().next().value!);
    parsedTexts.set(text, p);
  }
  return p;
}

function lastSection(sections: SectionBlock[], name: string): SectionBlock | undefined {
  // ConfigParser merges repeated sections; the last occurrence of a key wins. We edit the last.
  return sections.filter((s) => s.name === name).pop();
}

/** fail2ban's parser takes `;` after whitespace as the start of an inline comment. */
const INLINE_COMMENT = /\s+;.*$/;

function valueOf(lines: Line[], block: KeyBlock): string {
  const first = lines[block.start]!.text;
  const idx = first.search(/[=:]/);
  const parts = [first.slice(idx + 1)];
  for (let i = block.start + 1; i < block.end; i++) parts.push(lines[i]!.text);
  return parts
    .map((p) => p.replace(INLINE_COMMENT, '').trim())
    .filter((p) => p !== '')
    .join('\n');
}

/** The value of `key` in `[section]` (continuation lines joined with \n), or undefined. */
export function getIniValue(text: string, section: string, key: string): string | undefined {
  const { lines, sections } = parse(text);
  const k = key.toLowerCase();
  let found: string | undefined;
  for (const s of sections.filter((x) => x.name === section)) {
    for (const b of s.keys) if (b.key === k) found = valueOf(lines, b);
  }
  return found;
}

/** Section names in file order (duplicates kept once). */
export function listIniSections(text: string): string[] {
  return [...new Set(parse(text).sections.filter((s) => s.header >= 0).map((s) => s.name))];
}

/** Normalises a value for comparison: whitespace-insensitive, line structure ignored. */
function norm(v: string): string {
  return v.split(/\s+/).filter(Boolean).join(' ');
}

function formatValueLines(firstPrefix: string, value: string, eol: string): Line[] {
  const parts = value.split('\n');
  const indent = ' '.repeat(Math.max(firstPrefix.length, 4));
  return parts.map((p, i) => ({ text: (i === 0 ? firstPrefix : indent) + p, eol }));
}

/**
 * Sets `key = value` in `[section]`, creating the key or the section where missing.
 * `value` may hold \n for a multi-line value (written as continuation lines).
 * Returns the text unchanged (same string) when the value is already equal.
 */
export function setIniValue(text: string, section: string, key: string, value: string): string {
  const parsed = parse(text);
  const eol = parsed.lines.find((l) => l.eol)?.eol ?? '\n';
  const s = lastSection(parsed.sections, section);
  const k = key.toLowerCase();

  if (s) {
    const block = [...s.keys].reverse().find((b) => b.key === k);
    if (block && norm(valueOf(parsed.lines, block)) === norm(value)) return text;
    // An edit: the lines of this text afresh (the parsed ones are shared, never changed).
    const lines = splitLines(text);
    if (block) {
      const first = lines[block.start]!.text;
      const m = /^([^=:]*?[=:][ \t]*)/.exec(first)!;
      const lastEol = lines[block.end - 1]!.eol || '';
      const repl = formatValueLines(m[1]!, value, eol);
      // An inline comment on a one-line value stays with it.
      const comment = block.end - block.start === 1 ? /\s+;.*$/.exec(first.slice(m[1]!.length))?.[0] : undefined;
      if (comment && !value.includes('\n')) repl[0]!.text += comment;
      repl[repl.length - 1]!.eol = lastEol;
      lines.splice(block.start, block.end - block.start, ...repl);
      return joinLines(lines);
    }
    // Insert after the last key of the section (before its trailing comments/blank lines).
    const at = s.keys.length ? s.keys[s.keys.length - 1]!.end : s.header + 1;
    const repl = formatValueLines(`${key} = `, value, eol);
    if (at > 0 && lines[at - 1]!.eol === '') lines[at - 1]!.eol = eol;
    if (at >= lines.length) repl[repl.length - 1]!.eol = lines.length && lines[lines.length - 1]!.eol === '' ? '' : eol;
    lines.splice(at, 0, ...repl);
    return joinLines(lines);
  }

  // Append a new section at the end, separated by one blank line.
  let out = text;
  if (out !== '' && !/\r?\n$/.test(out)) out += eol;
  if (out !== '' && !/(\r?\n){2}$/.test(out)) out += eol;
  out += `[${section}]${eol}`;
  out += joinLines(formatValueLines(`${key} = `, value, eol).map((l) => ({ ...l, eol })));
  return out;
}

/** Applies many settings in order; see setIniValue. */
export function setIniValues(text: string, section: string, values: Array<[string, string]>): string {
  return values.reduce((t, [k, v]) => setIniValue(t, section, k, v), text);
}

/** One section of a text as the editor sees it (read-only). */
export interface IniSection {
  name: string;
  /** Line index of its `[name]` header. */
  header: number;
  /** Line index after its last line (the next header, or the end). */
  end: number;
  /** Its keys (lower-cased) and values as fail2ban reads them, in file order. */
  keys: Array<{ key: string; value: string }>;
}

/** The sections of `text` (repeated names listed each time) and its lines, for comparisons. */
export function iniSections(text: string): { lines: TextLine[]; sections: IniSection[] } {
  const { lines, sections } = parse(text);
  return {
    lines,
    sections: sections
      .filter((s) => s.header >= 0)
      .map((s) => ({ name: s.name, header: s.header, end: s.end, keys: s.keys.map((k) => ({ key: k.key, value: valueOf(lines, k) })) })),
  };
}
