/**
 * Lossless editor for FreeSWITCH sofia SIP profiles (`sip_profiles/*.xml`): turns on
 * `log-auth-failures`, which makes mod_sofia log every failed SIP authentication with the
 * source address (what fail2ban's freeswitch filter reads).
 *
 * The file is scanned, never parsed and re-serialised: a small tokenizer walks comments
 * (`<!-- -->`), CDATA, processing instructions, `<!DOCTYPE>`, `X-PRE-PROCESS` and ordinary tags
 * (quoted attribute values may contain `>`), and only the bytes we manage are rewritten.
 */

interface Tag {
  name: string;
  start: number; // index of '<'
  end: number; // index after '>'
  kind: 'open' | 'close' | 'empty';
  attrs: string; // raw text between the name and '>' / '/>'
  attrsStart: number; // index of attrs in the document
}

interface Element {
  tag: Tag;
  parent: Element | null;
  children: Element[];
}

const PARAM_NAME = 'log-auth-failures';

/** Values mod_sofia's switch_true() reads as true. */
function isTrue(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['yes', 'on', 'true', 't', 'enabled', 'active', 'allow'].includes(v)) return true;
  return /^[+-]?\d+$/.test(v) && Number(v) !== 0;
}

function lineOf(xml: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (xml.charCodeAt(i) === 10) n++;
  return n;
}

/** Tokenizes the document into tags, skipping comments, CDATA, PIs and declarations. */
function tags(xml: string): Tag[] {
  const out: Tag[] = [];
  let i = 0;
  const skipTo = (from: number, end: string, what: string): number => {
    const j = xml.indexOf(end, from);
    if (j < 0) throw new Error(`not well-formed XML: unterminated ${what} at line ${lineOf(xml, i)}`);
    return j + end.length;
  };
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith('<!--', i)) {
      i = skipTo(i + 4, '-->', 'comment');
    } else if (xml.startsWith('<![CDATA[', i)) {
      i = skipTo(i + 9, ']]>', 'CDATA section');
    } else if (xml.startsWith('<?', i)) {
      i = skipTo(i + 2, '?>', 'processing instruction');
    } else if (xml.startsWith('<!', i)) {
      i = skipTo(i + 2, '>', 'declaration');
    } else {
      const m = /^<(\/?)([A-Za-z_:][-\w.:]*)/.exec(xml.slice(i, i + 256));
      if (!m) throw new Error(`not well-formed XML: stray '<' at line ${lineOf(xml, i)}`);
      let j = i + m[0].length;
      let quote = '';
      for (; j < xml.length; j++) {
        const c = xml[j]!;
        if (quote) {
          if (c === quote) quote = '';
        } else if (c === '"' || c === "'") {
          quote = c;
        } else if (c === '>') {
          break;
        }
      }
      if (j >= xml.length) throw new Error(`not well-formed XML: unterminated tag at line ${lineOf(xml, i)}`);
      const closing = m[1] === '/';
      const selfClosing = !closing && xml[j - 1] === '/';
      const attrsStart = i + m[0].length;
      out.push({
        name: m[2]!,
        start: i,
        end: j + 1,
        kind: closing ? 'close' : selfClosing ? 'empty' : 'open',
        attrs: xml.slice(attrsStart, selfClosing ? j - 1 : j),
        attrsStart,
      });
      i = j + 1;
    }
  }
  return out;
}

/** Builds the element tree; throws on unbalanced tags. */
function tree(xml: string): Element[] {
  const roots: Element[] = [];
  const stack: Element[] = [];
  for (const tag of tags(xml)) {
    if (tag.kind === 'close') {
      const top = stack.pop();
      if (!top || top.tag.name !== tag.name) {
        throw new Error(`not well-formed XML: </${tag.name}> at line ${lineOf(xml, tag.start)} does not close ${top ? `<${top.tag.name}>` : 'anything'}`);
      }
      continue;
    }
    const el: Element = { tag, parent: stack.at(-1) ?? null, children: [] };
    (el.parent ? el.parent.children : roots).push(el);
    if (tag.kind === 'open') stack.push(el);
  }
  if (stack.length > 0) throw new Error(`not well-formed XML: <${stack.at(-1)!.tag.name}> is never closed`);
  return roots;
}

interface Attr {
  value: string;
  valueStart: number; // document index of the first character inside the quotes
  valueEnd: number; // document index of the closing quote
  end: number; // document index after the closing quote
}

function attr(tag: Tag, name: string): Attr | null {
  const re = /([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(tag.attrs)) !== null) {
    if (m[1] === name) {
      const value = m[2] ?? m[3] ?? '';
      const end = tag.attrsStart + m.index + m[0].length;
      return { value, valueStart: end - 1 - value.length, valueEnd: end - 1, end };
    }
  }
  return null;
}

function walk(els: Element[], visit: (el: Element) => void): void {
  for (const el of els) {
    visit(el);
    walk(el.children, visit);
  }
}

/** Leading whitespace of the line holding `index`, when only whitespace precedes it. */
function indentAt(xml: string, index: number): string | null {
  const bol = xml.lastIndexOf('\n', index - 1) + 1;
  const before = xml.slice(bol, index);
  return /^[ \t]*$/.test(before) ? before : null;
}

interface Edit {
  at: number;
  end: number;
  text: string;
}

/**
 * Makes a sofia profile log authentication failures.
 *
 * In every `<profile>`, the first `<settings>` child (the one mod_sofia reads; `<gateways>`,
 * `<domains>` and `<aliases>` are never touched) gets `<param name="log-auth-failures"
 * value="true"/>`:
 * - an active param whose value is not true for mod_sofia (e.g. `value="false"`) has only the
 *   characters between the quotes of its value replaced by `true` (quoting and spacing kept);
 * - when the param is missing, or present only inside an XML comment, a new line
 *   `<param name="log-auth-failures" value="true"/>` is inserted right after the `<settings>`
 *   start tag, indented like the first `<param>` of that block (CRLF kept).
 * Files without a profile `<settings>` (e.g. a gateway include) come back unchanged with
 * `changes: []`. Idempotent. Throws an Error when the document is not well-formed XML (the file is
 * then left to the admin rather than edited blindly).
 *
 * @param xml the text of one sofia profile file
 * @returns the new text and one human-readable line per change (empty when nothing changed)
 */
export function setLogAuthFailures(xml: string): { text: string; changes: string[] } {
  const eol = /\r\n/.test(xml) ? '\r\n' : '\n';
  const edits: Edit[] = [];
  const changes: string[] = [];

  walk(tree(xml), (profile) => {
    if (profile.tag.name !== 'profile') return;
    const settings = profile.children.find((c) => c.tag.name === 'settings');
    if (!settings || settings.tag.kind !== 'open') return;
    const label = `profile "${attr(profile.tag, 'name')?.value ?? '?'}"`;
    const params = settings.children.filter((c) => c.tag.name === 'param');
    const ours = params.filter((p) => attr(p.tag, 'name')?.value === PARAM_NAME);

    for (const p of ours) {
      const value = attr(p.tag, 'value');
      if (value && isTrue(value.value)) continue;
      if (value) {
        edits.push({ at: value.valueStart, end: value.valueEnd, text: 'true' });
        changes.push(`${label}: ${PARAM_NAME} set to true (was "${value.value}")`);
      } else {
        const nameAttr = attr(p.tag, 'name')!;
        edits.push({ at: nameAttr.end, end: nameAttr.end, text: ' value="true"' });
        changes.push(`${label}: ${PARAM_NAME} given value="true"`);
      }
    }

    if (ours.length === 0) {
      const open = settings.tag;
      const first = params[0];
      const settingsIndent = indentAt(xml, open.start) ?? '';
      const indent = (first && indentAt(xml, first.tag.start)) ?? `${settingsIndent}  `;
      edits.push({
        at: open.end,
        end: open.end,
        text: `${eol}${indent}<param name="${PARAM_NAME}" value="true"/>`,
      });
      changes.push(`${label}: added <param name="${PARAM_NAME}" value="true"/> to <settings>`);
    }
  });

  if (edits.length === 0) return { text: xml, changes: [] };
  let text = xml;
  for (const e of edits.sort((a, b) => b.at - a.at)) text = text.slice(0, e.at) + e.text + text.slice(e.end);
  return { text, changes };
}
