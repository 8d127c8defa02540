import { createHash } from 'node:crypto';
import { iniSections, setIniValue } from './ini-edit.ts';
import { joinLines, type TextLine } from './lines.ts';

/**
 * What the tool wrote into an INI file it edits (jail.local), key by key: section → key (lower
 * case) → sha256 of the value as fail2ban reads it. Kept in the manifest beside the sha256 of
 * the whole text, so that uninstall can tell the sections and keys the admin added or changed
 * after the tool wrote the file from those the tool wrote (or found in the original).
 */
export type IniRecord = Record<string, Record<string, string>>;

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** An own property only (section names are the admin's text: `__proto__` is a name like any other). */
function own<T>(o: Record<string, T> | undefined, k: string): T | undefined {
  return o && Object.hasOwn(o, k) ? o[k] : undefined;
}

function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Values per section as fail2ban reads them: repeated sections merge, the last key wins. */
function valuesOf(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const s of iniSections(text).sections) {
    const m = out.get(s.name) ?? new Map<string, string>();
    for (const k of s.keys) m.set(k.key, k.value);
    out.set(s.name, m);
  }
  return out;
}

/** The record of a text the tool writes, every section and key counted as the tool's. */
export function iniRecord(text: string): IniRecord {
  const rec = dict<Record<string, string>>();
  for (const [s, keys] of valuesOf(text)) {
    const r = dict<string>();
    for (const [k, v] of keys) r[k] = sha(v);
    rec[s] = r;
  }
  return rec;
}

/**
 * The record of `after`, written over `before`, when the tool last wrote `prev`. What the admin
 * changed since that write and the tool keeps as the admin left it (a section the admin added,
 * a key the admin added, changed or removed) stays the admin's: the record keeps what the tool
 * had (or nothing), so uninstall still sees it as the admin's edit after any number of re-runs.
 * Without `prev` (first write, or a manifest of an older version) all of `after` is the tool's.
 */
export function nextIniRecord(after: string, before: string | null, prev: IniRecord | undefined): IniRecord {
  if (!prev || before === null) return iniRecord(after);
  const a = valuesOf(after);
  const b = valuesOf(before);
  const rec = dict<Record<string, string>>();
  for (const [s, keys] of a) {
    const p = own(prev, s);
    const bk = b.get(s);
    // A section the admin added since the last write, kept by the tool: the admin's.
    if (!p && bk) continue;
    const r = dict<string>();
    for (const [k, v] of keys) {
      const bv = bk?.get(k);
      const pv = own(p, k);
      const adminEdited = bv !== undefined && sha(bv) !== pv && bv === v;
      if (!adminEdited) r[k] = sha(v);
      else if (pv !== undefined) r[k] = pv;
    }
    // A key of the tool's that the admin removed and the tool did not put back.
    for (const k of Object.keys(p ?? {})) if (!keys.has(k) && bk && !bk.has(k)) r[k] = p![k]!;
    rec[s] = r;
  }
  // A section of the tool's that the admin removed and the tool did not put back.
  for (const s of Object.keys(prev)) if (!a.has(s) && !b.has(s)) rec[s] = prev[s]!;
  return rec;
}

/** What uninstall does with an admin-edited jail.local. */
export interface IniUninstall {
  /** The restored text: the original (or nothing) with what is carried over; null = no file. */
  text: string | null;
  /** Sections the admin added after the tool wrote the file, carried into the restored file whole. */
  carriedSections: string[];
  /** `[section] key` the admin added or changed in a section of the original: carried into it. */
  carriedKeys: string[];
  /** Edits not carried (`[<jail>] maxretry changed`): kept only in the admin's copy. */
  notCarried: string[];
  /** The text differs in something else than keys and whole sections (comments, layout). */
  otherChanges: boolean;
  /** Whether the admin's version must be kept beside the restored file. */
  keep: boolean;
}

/** First line of each section's block: its header, with the comment lines right above it. */
function blockStarts(lines: TextLine[], headers: number[]): number[] {
  return headers.map((h, i) => {
    const floor = i > 0 ? headers[i - 1]! + 1 : 0;
    let s = h;
    while (s > floor && /^\s*[#;]/.test(lines[s - 1]!.text)) s--;
    return s;
  });
}

/**
 * Decides what uninstall restores for jail.local when it differs from what the tool last wrote
 * (`record`; `known` are the sha256 of the texts the tool wrote). Sections the admin added are
 * carried whole; keys the admin added, or changed where the tool had left the original's value,
 * in a section of the original are carried into it; every other difference (a key of the tool's
 * changed or removed, a key added to a jail of the tool's, which goes, comments) is not carried and
 * makes `keep` true: the admin's whole version is kept beside the restored file.
 */
export function iniOnUninstall(current: string, original: string | null, record: IniRecord, known: string[]): IniUninstall {
  const cur = valuesOf(current);
  const orig = original === null ? new Map<string, Map<string, string>>() : valuesOf(original);
  const out: IniUninstall = { text: original, carriedSections: [], carriedKeys: [], notCarried: [], otherChanges: false, keep: false };
  const keys: Array<[string, string, string]> = [];
  for (const [s, kv] of cur) {
    const rec = own(record, s);
    if (!rec) {
      if (orig.has(s)) out.notCarried.push(`[${s}] differs from the original`);
      else out.carriedSections.push(s);
      continue;
    }
    const ov = orig.get(s);
    for (const k of new Set([...kv.keys(), ...Object.keys(rec)])) {
      const cv = kv.get(k);
      const rv = own(rec, k);
      if (cv !== undefined && rv !== undefined && sha(cv) === rv) continue;
      if (cv === undefined) out.notCarried.push(`[${s}] ${k} removed`);
      else if (ov && (rv === undefined || (ov.get(k) !== undefined && sha(ov.get(k)!) === rv))) keys.push([s, k, cv]);
      else out.notCarried.push(`[${s}] ${k} ${rv === undefined ? 'added' : 'changed'}`);
    }
  }
  for (const s of Object.keys(record)) if (!cur.has(s)) out.notCarried.push(`[${s}] removed`);

  let text = original ?? '';
  for (const [s, k, v] of keys) {
    text = setIniValue(text, s, k, v);
    out.carriedKeys.push(`[${s}] ${k}`);
  }
  const { lines, sections } = iniSections(current);
  const starts = blockStarts(lines, sections.map((s) => s.header));
  const carried = sections.map((s, i) => ({ s, from: starts[i]!, to: starts[i + 1] ?? lines.length })).filter((b) => out.carriedSections.includes(b.s.name));
  for (const b of carried) {
    const block = lines.slice(b.from, b.to);
    while (block.length && block[block.length - 1]!.text.trim() === '') block.pop();
    if (!block.length) continue;
    block[block.length - 1] = { ...block[block.length - 1]!, eol: block[block.length - 1]!.eol || '\n' };
    if (text !== '' && !text.endsWith('\n')) text += '\n';
    if (text !== '' && !/\n\s*\n$/.test(text)) text += '\n';
    text += joinLines(block);
  }
  out.text = original === null && text === '' ? null : text;

  if (out.carriedKeys.length || out.notCarried.length) out.keep = true;
  else if (!known.includes(sha(current))) {
    // Only whole sections added? Then the text without them is one the tool wrote.
    const without = (withBlanksBefore: boolean): string => {
      const drop = new Set<number>();
      for (const b of carried) {
        for (let i = b.from; i < b.to; i++) drop.add(i);
        if (withBlanksBefore) for (let i = b.from - 1; i >= 0 && lines[i]!.text.trim() === '' && !drop.has(i); i--) drop.add(i);
      }
      return joinLines(lines.filter((_, i) => !drop.has(i)));
    };
    if (!carried.length || !(known.includes(sha(without(false))) || known.includes(sha(without(true))))) {
      out.otherChanges = true;
      out.keep = true;
    }
  }
  return out;
}
