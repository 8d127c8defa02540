/**
 * asterisk.conf's [directories], read the way Asterisk reads it (main/config.c): a section
 * header `[name](options)` whose options hold `!` is a TEMPLATE, not the section; other names in
 * the options are templates it inherits from (their keys first, its own after); `+` adds to a
 * section defined before. Keys are `name => value` or `name = value`; `;` starts a comment.
 */
export function asteriskDirectories(conf: string): Record<string, string> {
  const sections: Array<{ name: string; template: boolean; inherits: string[]; keys: Array<[string, string]> }> = [];
  let current: (typeof sections)[number] | null = null;
  for (const raw of conf.split(/\r?\n/)) {
    const line = raw.replace(/(^|[^\\]);.*$/, '$1').trim();
    const h = /^\[([^\]]+)\](?:\(([^)]*)\))?/.exec(line);
    if (h) {
      const opts = (h[2] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      current = { name: h[1]!.trim(), template: opts.includes('!'), inherits: opts.filter((o) => o !== '!' && o !== '+'), keys: [] };
      sections.push(current);
      continue;
    }
    const kv = /^([\w.]+)\s*=>?\s*(.*)$/.exec(line);
    if (kv && current) current.keys.push([kv[1]!.toLowerCase(), kv[2]!.trim()]);
  }
  const out: Record<string, string> = {};
  const apply = (s: (typeof sections)[number], depth: number): void => {
    for (const t of s.inherits) {
      const tpl = sections.find((x) => x.name === t && x.template);
      if (tpl && depth < 8) apply(tpl, depth + 1);
    }
    for (const [k, v] of s.keys) if (v) out[k] = v;
  };
  for (const s of sections) if (s.name.toLowerCase() === 'directories' && !s.template) apply(s, 0);
  return out;
}
