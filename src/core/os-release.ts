/** The fields of os-release(5) we use. */
export interface OsRelease {
  id: string;
  idLike: string[];
  versionId: string;
  name: string;
  prettyName: string;
}

/**
 * Parses the text of /etc/os-release (shell-style KEY=value lines, values optionally quoted
 * with "..." or '...', backslash escapes inside double quotes).
 */
export function parseOsRelease(text: string): OsRelease {
  const fields: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2] ?? '';
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      value = value.slice(1, -1).replace(/\\(["\\`$])/g, '$1');
    } else if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
      value = value.slice(1, -1);
    }
    fields[m[1]!] = value;
  }
  return {
    id: (fields.ID ?? '').toLowerCase(),
    idLike: (fields.ID_LIKE ?? '').toLowerCase().split(/\s+/).filter(Boolean),
    versionId: fields.VERSION_ID ?? '',
    name: fields.NAME ?? '',
    prettyName: fields.PRETTY_NAME ?? fields.NAME ?? '',
  };
}
