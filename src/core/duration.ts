/**
 * fail2ban time values (bantime, findtime, dbpurgeage …) in seconds: the one reader the tool has,
 * used for the options it validates, Kamailio's throttle window and fail2ban's own settings. Pure.
 */

/** Seconds per unit, as fail2ban's MyTime.str2seconds reads them (`m` is minutes, `mo` months). */
const UNITS: Array<[RegExp, number]> = [
  [/^(?:y|yy|yrs?|years?)$/, 365 * 86400],
  [/^(?:mo|mon|mons|months?)$/, 30 * 86400],
  [/^(?:w|ww|wks?|weeks?)$/, 7 * 86400],
  [/^(?:d|dd|dys?|days?)$/, 86400],
  [/^(?:h|hh|hrs?|hours?)$/, 3600],
  [/^(?:m|mm|mi|mins?|minutes?)$/, 60],
  [/^(?:s|ss|secs?|seconds?)?$/, 1],
];

/**
 * A fail2ban time value in seconds (`86400`, `1d`, `30 days`, `1w 2d`, `-1`), or null when it is
 * not one this reader understands (then the install leaves it alone and says so).
 */
export function fail2banSeconds(raw: string): number | null {
  const v = raw.trim().toLowerCase();
  if (/^-?\d+(?:\.\d+)?$/.test(v)) return Number(v);
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]*)/g)];
  if (!parts.length || parts.map((m) => m[0]).join('').replace(/\s+/g, '') !== v.replace(/\s+/g, '')) return null;
  let total = 0;
  for (const m of parts) {
    const unit = UNITS.find(([re]) => re.test(m[2]!));
    if (!unit) return null;
    total += Number(m[1]) * unit[1];
  }
  return total;
}
