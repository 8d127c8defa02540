/** Target paths the tool itself owns or edits, beside those of the service modules. */
export const JAIL_LOCAL = '/etc/fail2ban/jail.local';
export const FILTER_DIR = '/etc/fail2ban/filter.d';
export const MAIL_ACTION = '/etc/fail2ban/action.d/voip-f2b-mail.conf';
/** The VoIP jails' guard (templates/etc/fail2ban/action.d/voip-f2b-guard.py). */
export const GUARD_ACTION = '/etc/fail2ban/action.d/voip-f2b-guard.py';
