/** Target paths the tool itself owns or edits, beside those of the service modules. */
export const JAIL_LOCAL = '/etc/fail2ban/jail.local';
export const FILTER_DIR = '/etc/fail2ban/filter.d';
export const MAIL_ACTION = '/etc/fail2ban/action.d/voip-f2b-mail.conf';
/** The mail action's runtime state (its `statedir`): `<jail>/pending` (bans not yet mailed) and `<jail>/last` (time of its last mail). */
export const MAIL_STATE_DIR = '/var/lib/fail2ban/voip-f2b-mail';
export const MAIL_STATE_FILES = ['pending', 'last'] as const;
/** The VoIP jails' guard (templates/etc/fail2ban/action.d/voip-f2b-guard.py). */
export const GUARD_ACTION = '/etc/fail2ban/action.d/voip-f2b-guard.py';
/** The guard's runtime state: `office-<jail>.json` (offices and their failing accounts, read by the watch). */
export const GUARD_STATE_DIR = '/var/lib/voip-f2b-install';
export const GUARD_STATE_FILE = /^office-[A-Za-z0-9_-]+\.json(\.tmp)?$/;
