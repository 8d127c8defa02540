import { splitLines } from '../lines.ts';
/**
 * Lossless editor for Asterisk's logger.conf: makes sure fail2ban can read Asterisk's logs.
 *
 * What it guarantees (and nothing else is touched):
 * - `[general]` has `dateformat = %F %T` (fail2ban needs a date it can parse);
 * - `[logfiles]` has a messages channel (`messages` or `messages.log`, whichever the site uses)
 *   that includes the levels notice, warning and error;
 * - `[logfiles]` has a security channel (`security => security`; an existing `security` or
 *   `security.log` channel only gets the `security` level added if it lacks it).
 *
 * Asterisk's config syntax handled here: `;` line comments (`\;` is a literal semicolon),
 * `;-- ... --;` block comments (nestable), `[name]` / `[name](template)` headers, `key = value`
 * and `key => value`, `#include` / `#exec` directives (left alone). Section and key names compare
 * case-insensitively, as Asterisk does.
 */

interface Line {
  text: string; // without EOL
  eol: string; // '\n', '\r\n' or '' (last line without newline)
  /** The line's code: cut at a `;` line comment, block-comment parts blanked out (same offsets). */
  code: string;
}

interface Entry {
  line: number;
  key: string; // as written
  sep: '=' | '=>';
  valueStart: number; // index in the line's text
  valueEnd: number; // exclusive, trailing whitespace excluded
}

interface Section {
  name: string; // lower-cased
  header: number; // line index of the header
  end: number; // exclusive: next header or lines.length
  entries: Entry[];
}

const DATEFORMAT = '%F %T';
const MESSAGES_LEVELS = ['notice', 'warning', 'error'] as const;

/**
 * Marks comments: returns, per line, the code part (before any `;` line comment) with
 * `;-- ... --;` block comments blanked out. As in Asterisk's parser, `;---` (three dashes or
 * more, the usual separator line) is a plain line comment, not the start of a block.
 */
function analyse(raw: Array<{ text: string; eol: string }>): Line[] {
  let depth = 0;
  const opensBlock = (t: string, i: number): boolean => t.startsWith(';--', i) && t[i + 3] !== '-';
  return raw.map(({ text, eol }) => {
    let code = '';
    let i = 0;
    while (i < text.length) {
      if (depth > 0) {
        if (opensBlock(text, i)) {
          depth++;
          code += '   ';
          i += 3;
        } else if (text.startsWith('--;', i)) {
          depth--;
          code += '   ';
          i += 3;
        } else {
          code += ' ';
          i++;
        }
        continue;
      }
      const c = text[i]!;
      if (c === ';' && text[i - 1] !== '\\') {
        if (!opensBlock(text, i)) break;
        depth++;
        code += '   ';
        i += 3;
        continue;
      }
      code += c;
      i++;
    }
    return { text, eol, code };
  });
}

const HEADER = /^\s*\[([^\]]+)\]/;
const ENTRY = /^(\s*)([^\s=[#][^=]*?)\s*(=>|=)/;

function scan(lines: Line[]): Section[] {
  const sections: Section[] = [];
  let current: Section | null = null;
  lines.forEach((line, i) => {
    const code = line.code;
    const h = HEADER.exec(code);
    if (h) {
      if (current) current.end = i;
      current = { name: h[1]!.trim().toLowerCase(), header: i, end: lines.length, entries: [] };
      sections.push(current);
      return;
    }
    if (!current) return;
    const e = ENTRY.exec(code);
    if (!e) return;
    const sep = e[3] as '=' | '=>';
    let valueStart = e[0].length;
    while (valueStart < code.length && /\s/.test(code[valueStart]!)) valueStart++;
    let valueEnd = code.length;
    while (valueEnd > valueStart && /\s/.test(code[valueEnd - 1]!)) valueEnd--;
    current.entries.push({ line: i, key: e[2]!.trim(), sep, valueStart, valueEnd });
  });
  return sections;
}

function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

function isMessages(key: string): boolean {
  const b = baseName(key);
  return b === 'messages' || b === 'messages.log';
}

function isSecurity(key: string): boolean {
  const b = baseName(key);
  return b === 'security' || b === 'security.log';
}

/** Commented-out `;key = ...` / `;key => ...` line (the sample's suggestions). */
function commentedKey(line: Line, test: (key: string) => boolean): boolean {
  const m = /^\s*;+\s*([^\s=;]+)\s*=>?/.exec(line.text);
  return m !== null && test(m[1]!);
}

interface Insert {
  after: number; // line index; -1 = before the first line
  lines: string[];
}

/**
 * Adds the missing `levels` to an Asterisk level list (`[plain]notice, warning,error`), keeping
 * the existing entries, their order, the formatter prefix and the separator style.
 * Returns null when nothing is missing. `*` means every level.
 */
function addLevels(value: string, levels: readonly string[]): { value: string; added: string[] } | null {
  const fm = /^\[[^\]]*\]\s*/.exec(value);
  const prefix = fm ? fm[0] : '';
  const list = value.slice(prefix.length);
  const present = list
    .split(',')
    .map((l) => l.trim().toLowerCase().replace(/\(.*$/, '').trim())
    .filter((l) => l !== '');
  if (present.includes('*')) return null;
  const missing = levels.filter((l) => !present.includes(l));
  if (missing.length === 0) return null;
  if (list.trim() === '') return { value: prefix + missing.join(','), added: missing };
  const seps = list.match(/,\s*/g) ?? [];
  const sep = seps.length > 0 && seps.every((s) => s.length > 1) ? ', ' : ',';
  const joiner = list.trimEnd().endsWith(',') ? '' : sep;
  return { value: value + joiner + missing.join(sep), added: missing };
}

/**
 * Edits the text of an Asterisk logger.conf so that fail2ban can use its logs.
 *
 * - `[general]`: every active `dateformat` is set to `%F %T`; when there is none, a
 *   `dateformat = %F %T` line is added after the commented-out `;dateformat=` suggestions (or
 *   right after the header). A missing `[general]` is created before the first section.
 * - `[logfiles]`: an existing `messages` / `messages.log` channel gets the levels notice, warning,
 *   error it lacks, appended after its own levels (formatter prefix, order and separator style
 *   kept); without one, `messages.log => notice,warning,error` is added. An existing `security` /
 *   `security.log` channel gets the `security` level if it lacks it; without one,
 *   `security => security` is added (after the commented-out suggestion when there is one).
 *   A missing `[logfiles]` is appended at the end.
 *
 * Every other byte is kept: comments, blank lines, order, `=` vs `=>`, CRLF line endings. A
 * missing final newline stays missing unless lines are appended after the last line.
 * Idempotent: editing the result again returns it unchanged with `changes: []`.
 *
 * @param text the current logger.conf ('' when the site has none)
 * @param elsewhere channels a file it includes already defines (a messages channel with notice,
 *   a security channel): never defined a second time here, so nothing is logged twice
 * @returns the new text and one human-readable line per change (empty when nothing changed)
 */
export function editAsteriskLogger(text: string, elsewhere: { messages?: boolean; security?: boolean } = {}): { text: string; changes: string[] } {
  const lines = analyse(splitLines(text));
  const eol = /\r\n/.test(text) ? '\r\n' : '\n';
  const sections = scan(lines);
  const edit: LoggerEdit = { lines, changes: [], inserts: [] };
  // 1. [general] dateformat
  editGeneral(edit, sections);
  // 2. [logfiles] messages and security channels
  editLogfiles(edit, sections, elsewhere);
  if (edit.changes.length === 0) return { text, changes: [] };
  return { text: render(lines, edit.inserts, eol), changes: edit.changes };
}

/** One edit of logger.conf in progress: its lines (changed in place), what was done, the lines to insert. */
interface LoggerEdit {
  lines: Line[];
  changes: string[];
  inserts: Insert[];
}

function replaceValue(edit: LoggerEdit, entry: Entry, value: string): void {
  const line = edit.lines[entry.line]!;
  line.text = line.text.slice(0, entry.valueStart) + value + line.text.slice(entry.valueEnd);
}

function valueOf(edit: LoggerEdit, entry: Entry): string {
  return edit.lines[entry.line]!.text.slice(entry.valueStart, entry.valueEnd);
}

/** Step 1: `[general] dateformat` set to {@link DATEFORMAT} (added below a commented one, or with the section). */
function editGeneral(edit: LoggerEdit, sections: Section[]): void {
  const { lines, changes, inserts } = edit;
  const general = sections.find((s) => s.name === 'general');
  if (general) {
    const active = general.entries.filter((e) => e.key.toLowerCase() === 'dateformat');
    for (const e of active) {
      const old = valueOf(edit, e);
      if (old !== DATEFORMAT) {
        replaceValue(edit, e, DATEFORMAT);
        changes.push(`[general] dateformat set to ${DATEFORMAT} (was ${old === '' ? 'empty' : old})`);
      }
    }
    if (active.length === 0) {
      let after = general.header;
      for (let i = general.header + 1; i < general.end; i++) {
        if (commentedKey(lines[i]!, (k) => k.toLowerCase() === 'dateformat')) {
          after = i;
          while (after + 1 < general.end && commentedKey(lines[after + 1]!, (k) => k.toLowerCase() === 'dateformat')) after++;
          break;
        }
      }
      inserts.push({ after, lines: [`dateformat = ${DATEFORMAT}`] });
      changes.push(`[general] added dateformat = ${DATEFORMAT}`);
    }
  } else {
    const first = sections[0];
    const block = ['[general]', `dateformat = ${DATEFORMAT}`, ''];
    if (first) {
      inserts.push({ after: first.header - 1, lines: block });
    } else {
      inserts.push({ after: lines.length - 1, lines: lastIsBlank(lines) ? block : ['', ...block] });
    }
    changes.push(`added section [general] with dateformat = ${DATEFORMAT}`);
  }
}

/** Step 2: `[logfiles]` messages and security channels (levels added, or channels added unless `elsewhere`). */
function editLogfiles(edit: LoggerEdit, sections: Section[], elsewhere: { messages?: boolean; security?: boolean }): void {
  const { lines, changes, inserts } = edit;
  const logfiles = sections.find((s) => s.name === 'logfiles');
  if (logfiles) {
    const messages = logfiles.entries.filter((e) => isMessages(e.key));
    for (const e of messages) {
      const r = addLevels(valueOf(edit, e), MESSAGES_LEVELS);
      if (r) {
        replaceValue(edit, e, r.value);
        changes.push(`[logfiles] ${e.key}: added level${r.added.length > 1 ? 's' : ''} ${r.added.join(',')}`);
      }
    }
    const lastEntry = logfiles.entries.at(-1)?.line ?? logfiles.header;
    let messagesLine = messages.at(-1)?.line;
    if (messages.length === 0 && !elsewhere.messages) {
      let after = lastEntry;
      for (let i = logfiles.header + 1; i < logfiles.end; i++) {
        if (commentedKey(lines[i]!, isMessages)) {
          after = i;
          break;
        }
      }
      const added = `messages.log => ${MESSAGES_LEVELS.join(',')}`;
      inserts.push({ after, lines: [added] });
      messagesLine = after;
      changes.push(`[logfiles] added ${added}`);
    }

    const security = logfiles.entries.filter((e) => isSecurity(e.key));
    for (const e of security) {
      const r = addLevels(valueOf(edit, e), ['security']);
      if (r) {
        replaceValue(edit, e, r.value);
        changes.push(`[logfiles] ${e.key}: added level security`);
      }
    }
    if (security.length === 0 && !elsewhere.security) {
      let after = messagesLine ?? lastEntry;
      for (let i = logfiles.header + 1; i < logfiles.end; i++) {
        if (commentedKey(lines[i]!, isSecurity)) {
          after = i;
          break;
        }
      }
      inserts.push({ after, lines: ['security => security'] });
      changes.push('[logfiles] added security => security');
    }
  } else {
    const channels = [...(elsewhere.messages ? [] : [`messages.log => ${MESSAGES_LEVELS.join(',')}`]), ...(elsewhere.security ? [] : ['security => security'])];
    if (channels.length) {
      const block = ['[logfiles]', ...channels];
      inserts.push({ after: lines.length - 1, lines: lastIsBlank(lines) ? block : ['', ...block] });
      changes.push(`added section [logfiles] with ${channels.join(' and ')}`);
    }
  }
}

function lastIsBlank(lines: Line[]): boolean {
  const last = lines.at(-1);
  return last === undefined || last.text.trim() === '';
}

/** Joins the lines with the inserts placed after their anchor lines (stable order per anchor). */
function render(lines: Line[], inserts: Insert[], eol: string): string {
  const byAnchor = new Map<number, string[]>();
  for (const ins of inserts) byAnchor.set(ins.after, [...(byAnchor.get(ins.after) ?? []), ...ins.lines]);
  let out = '';
  const emit = (added: string[] | undefined): void => {
    if (!added) return;
    // an anchor line without EOL (end of file) gets one before our lines
    if (out !== '' && !out.endsWith('\n')) out += eol;
    for (const l of added) out += l + eol;
  };
  emit(byAnchor.get(-1));
  lines.forEach((line, i) => {
    out += line.text + line.eol;
    emit(byAnchor.get(i));
  });
  return out;
}

/** A `#include` / `#tryinclude` of an Asterisk config file, resolved against its directory. */
export interface LoggerInclude {
  path: string;
  /** The section it is included in (lower-cased; null before any header). */
  section: string | null;
}

/**
 * The files a logger.conf pulls in, in order: `#include file`, `#include "file"`,
 * `#include <file>`, `#tryinclude …`; a relative name is under `configDir` (as Asterisk reads
 * them). Globs are not expanded (FreePBX and IssabelPBX name files).
 */
export function loggerIncludes(text: string, configDir: string): LoggerInclude[] {
  const out: LoggerInclude[] = [];
  let section: string | null = null;
  for (const line of analyse(splitLines(text))) {
    const h = HEADER.exec(line.code);
    if (h) section = h[1]!.trim().toLowerCase();
    const path = includeTarget(line.code, configDir);
    if (path) out.push({ path, section });
  }
  return out;
}

/** The file an `#include` / `#tryinclude` line names (relative names are under configDir), else null. */
function includeTarget(code: string, configDir: string): string | null {
  const m = /^\s*#\s*(?:try)?include\s+["<]?([^"<>\s]+)[">]?\s*$/i.exec(code);
  if (!m) return null;
  return m[1]!.startsWith('/') ? m[1]! : `${configDir}/${m[1]!}`;
}

/**
 * Reads logger.conf as Asterisk does: each line with its section, the files it includes read in
 * place of their include line (bounded depth; a section an include opens ends with it).
 */
function walkLogger(path: string, text: string, configDir: string, read: (p: string) => string | null, visit: (section: string | null, code: string, path: string) => void, depth = 0, start: string | null = null): void {
  let section = start;
  for (const line of analyse(splitLines(text))) {
    const h = HEADER.exec(line.code);
    if (h) {
      section = h[1]!.trim().toLowerCase();
      continue;
    }
    const target = includeTarget(line.code, configDir);
    if (target) {
      const t = depth < 4 ? read(target) : null;
      if (t !== null) walkLogger(target, t, configDir, read, visit, depth + 1, section);
      continue;
    }
    visit(section, line.code, path);
  }
}

/** A logger channel: its name as written (`messages`, `/var/log/x.log`, `console`), its levels, where it is defined. */
export interface LoggerChannel {
  name: string;
  levels: string[];
  definedIn: string;
}

/**
 * The channels Asterisk's logger defines in [logfiles]: logger.conf's own and those of the files
 * it includes there (their lines are read as if they stood at the include, as Asterisk does),
 * following includes of includes (bounded). `read` gives a file's text (null = absent).
 */
export function loggerChannels(path: string, text: string, configDir: string, read: (p: string) => string | null): LoggerChannel[] {
  const out: LoggerChannel[] = [];
  walkLogger(path, text, configDir, read, (section, code, definedIn) => {
    if (section !== 'logfiles') return;
    const e = /^\s*([^\s=;#[][^=]*?)\s*=>?\s*(.*?)\s*$/.exec(code);
    if (!e) return;
    const fm = /^\[[^\]]*\]\s*/.exec(e[2]!);
    const levels = e[2]!
      .slice(fm ? fm[0].length : 0)
      .split(',')
      .map((l) => l.trim().toLowerCase().replace(/\(.*$/, '').trim())
      .filter(Boolean);
    out.push({ name: e[1]!.trim(), levels, definedIn });
  });
  return out;
}

/** The value of the last `dateformat` in [general], through includes (the last one set wins). */
export function loggerDateformat(text: string, configDir: string, read: (p: string) => string | null): string | undefined {
  let found: string | undefined;
  walkLogger('', text, configDir, read, (section, code) => {
    const e = section === 'general' ? /^\s*dateformat\s*=>?\s*(.*?)\s*$/i.exec(code) : null;
    if (e) found = e[1]!;
  });
  return found;
}

/** A channel that writes a file (not the console, not syslog). */
/**
 * A channel to a file in Asterisk's log directory, by a plain name. A path (absolute, with `/` or
 * `..`) is never one the jail reads: logger.conf and its includes may belong to the asterisk
 * account, and root creates the jail's logs and their directories.
 */
function isFileChannel(c: LoggerChannel): boolean {
  const n = c.name.toLowerCase();
  return n !== 'console' && !n.startsWith('syslog') && /^[a-z0-9_][a-z0-9._-]{0,99}$/.test(n);
}

const has = (c: LoggerChannel, level: string): boolean => c.levels.includes(level) || c.levels.includes('*');

/**
 * The logs the Asterisk jail reads, chosen among the channels already defined, each failure in
 * exactly one of them: a channel with notice AND security when there is one (one file), else a
 * messages channel with notice plus a security channel. `missing` names what must be added.
 */
export function pickLoggerLogs(channels: LoggerChannel[]): { messages: LoggerChannel | null; security: LoggerChannel | null } {
  const files = channels.filter(isFileChannel);
  const named = (c: LoggerChannel, base: string): boolean => {
    const b = baseName(c.name).toLowerCase();
    return b === base || b === `${base}.log`;
  };
  const both = files.filter((c) => has(c, 'notice') && has(c, 'security'));
  const bothPick = both.find((c) => named(c, 'messages')) ?? both.find((c) => !has(c, 'debug') && !has(c, 'verbose')) ?? null;
  if (bothPick) return { messages: bothPick, security: bothPick };
  const messages = files.find((c) => named(c, 'messages') && has(c, 'notice')) ?? null;
  const sec = files.filter((c) => has(c, 'security'));
  const security = sec.find((c) => named(c, 'security')) ?? sec[0] ?? null;
  return { messages, security };
}

/** A channel's log file under Asterisk's log directory. */
export function channelFile(c: LoggerChannel, logDir: string): string {
  return c.name.startsWith('/') ? c.name : `${logDir}/${c.name}`;
}

/** logger.conf with the files it includes put in place of their `#include` lines (bounded), for checks that read one text. */
export function flattenLogger(text: string, configDir: string, read: (p: string) => string | null, depth = 0): string {
  return splitLines(text)
    .map((l) => {
      const p = includeTarget(l.text, configDir);
      if (!p || depth >= 4) return l.text + l.eol;
      const t = read(p);
      return t === null ? l.text + l.eol : `${flattenLogger(t, configDir, read, depth + 1).replace(/\n?$/, '\n')}`;
    })
    .join('');
}
