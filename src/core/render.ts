/**
 * A tiny template renderer: `{{name}}` placeholders, nothing else. An unknown placeholder, or a
 * value left unused, is an error, so a template and its caller cannot drift apart silently.
 */
export function render(template: string, values: Record<string, string>, name = 'template'): string {
  const used = new Set<string>();
  const out = template.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_m, key: string) => {
    if (!Object.hasOwn(values, key)) throw new Error(`internal: ${name} uses unknown placeholder {{${key}}}`);
    used.add(key);
    return values[key]!;
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length) throw new Error(`internal: ${name} has no placeholder for ${unused.join(', ')}`);
  return out;
}
