# Installed by voip-f2b-install. Overwritten on re-run: put your changes in your own action.
#
# The guard of a VoIP jail (fail2ban 0.11+, pure Python 3, standard library only). It closes the
# race between a SIP password scanner and the log pipeline, which a plain jail loses:
#
# * A scanner makes 150 guesses a second; fail2ban reads each failure within milliseconds, but
#   its ban thread wakes up to 0.8 s later (it polls), by which time a scanner has made a hundred
#   more guesses. So the moment the jail counts a failure from a source, the guard PAUSES that
#   source on the jail's SIP ports (tcp and udp) for `window` seconds in the kernel: its packets
#   are dropped, a phone's SIP stack resends them later (UDP retransmission, TCP), a scanner
#   stalls. A source that never fails is never touched (an office of phones, a monitoring system,
#   a carrier), and nothing but the SIP ports is held (calls' audio keeps flowing).
# * ONE FAILURE COUNTS ONCE: a failure that repeats the source, account (F-USER) and Call-ID
#   (F-CALLID) of a failure counted less than `window` seconds ago is not counted again. It was
#   already in flight when the source was paused (a phone resending a typo'd password: baresip
#   sends 15 in 4 ms), so it cannot be a new guess. Repeats are only ever forgiven while the
#   pause holds: where the pause could not be set, every failure counts.
# * ACCOUNTS UNDER ATTACK: when one account has had maxretry counted failures within findtime
#   from two or more addresses (guessing spread over many addresses, each under maxretry), every
#   address that failed on it is banned, and so is each new address at its first failure on it,
#   until findtime passes without one; the jail's log says so once (WARNING).
# * UNBAN IS A FRESH START: when an address is unbanned (by hand, or when its ban ends), its
#   failures counted in this jail are forgotten, so its next single line does not ban it again.
# * OFFICES BEHIND ONE ADDRESS: an address with a device registered right now (the service's
#   console, `office`: run at most every `office_refresh` seconds by a timer thread, never per
#   line) or a successful login within the last day (`office_logins=1`: Asterisk's SuccessfulAuth
#   events, Kamailio's "voip-f2b: login" line, read from the tail of the jail's own logs by the
#   same thread) is an office: its
#   failures are counted by the guard, not by fail2ban, and it is banned at `office_maxretry`
#   failures within findtime (default 10 x maxretry) instead of maxretry, so one misconfigured
#   phone does not cut off the whole company while a flood from it is still stopped. Pauses and
#   count-once apply as to any address; an account under attack never bans an office. Each time an
#   account has failed another maxretry times from an office, the jail's log says so (WARNING,
#   "voip-f2b-guard: office <ip> ... account '<user>' keeps failing"), and the state file
#   (`office_state`, JSON, see _stateDoc) lists every office with its failing accounts. Where the
#   console cannot be run, the log says so once and only logins make offices (none without them):
#   the jail then works as before.
#
# Use: a second action of the jail, after the ban action:
#   action = %(action_)s
#            voip-f2b-guard.py[port="%(port)s", window=2]
# with offices (the console command as one string, split like a shell would, never run by one):
#            voip-f2b-guard.py[port="%(port)s", window=2, office="/usr/sbin/asterisk -C /etc/asterisk/asterisk.conf -rx 'pjsip show contacts'", office_logins=1]
# A server that stops a failing source itself (Kamailio with the kamailio.cfg blocks of
# voip-f2b-install: its throttle and its own count-once) gets `pause=0`: nothing is paused, every
# failure counts (count-once needs the pause), and accounts under attack and offices work as above.
# Backend: nftables (table inet f2bg-<jail>: sets p4/p6 with per-element timeouts and one drop
# rule on the input hook at priority -2) where `nft` exists, else ipset (hash:ip with timeout)
# and one iptables/ip6tables rule per family. Addresses are validated with the ipaddress module
# and commands are argument lists (no shell); a worker thread runs them, so the jail's filter
# never waits for a process.

import calendar
import ipaddress
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import threading
import time

from fail2ban.server.actions import ActionBase
from fail2ban.server.utils import Utils

MARK = '_voip_f2b_guard'
READ_WAIT = 0.05  # seconds: the filter's loop time while the guard runs (see start)
POLL_STEP = 0.01  # seconds: fail2ban's poll step while the guard runs (see start)
LOGIN_DAY = 86400  # seconds: a successful login makes an office for a day
TAIL_FIRST = 16 << 20  # bytes: how much of a log's end the first look reads (then only what grows)
TAIL_STEP = 16 << 20  # bytes: at most this much read per log per refresh
STATE_DIR = '/var/lib/voip-f2b-install'
# Asterisk's security log: a SuccessfulAuth event of a SIP service, anchored at the start of the
# event. AccountID and SessionID (the Call-ID) are peer text and may hold a forged
# LocalAddress/RemoteAddress pair; what follows the real pair (UsingPassword, SessionTV) cannot,
# so the address the request came from is the one of the LAST pair (as filter.d/voip-asterisk).
LOGIN_HEAD = re.compile(
	r'^\[[^\]]+\]\s+SECURITY\[\d+\](?:\[[^\]]*\])?:?\s+res_security_log\.c:\s+'
	r'SecurityEvent="SuccessfulAuth",EventTV="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?([+-]\d{4})?",'
	r'Severity="[A-Za-z]*",Service="(?:PJSIP|SIP)",EventVersion="\d+",AccountID=')
LOGIN_PAIR = re.compile(r',LocalAddress="IPV[46]/[A-Za-z]{2,5}/[^"/]*/\d+",RemoteAddress="IPV[46]/[A-Za-z]{2,5}/([0-9A-Fa-f.:]+)/\d+"')


# Kamailio (the kamailio.cfg blocks of voip-f2b-install): a source's first successful digest login
# of the day, in the syslog file rsyslog writes for the jail (RFC 3339 or traditional time stamp).
# The stock log_prefix ends with the Call-ID (peer text, may hold "} " and a forged copy), so the
# line must END with the fixed login text, right after the prefix and the script's own "<script>: "
# (the prefix may not hold one): only the real line can, not a copy in peer text at the end of
# another script line. Kamailio's own throttle never trusts a log line: its office mark is set only
# by a right password. A traditional syslog stamp is local time (as rsyslog writes it and fail2ban
# reads it); an RFC 3339 one carries its offset.
KAM_LOGIN = re.compile(
	r'^(?:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)|([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)) \S+ '
	r'(?:(?:/[\w.-]{1,64}){1,6}/)?kamailio(?:\[\d+\])?: NOTICE: (?:\{(?:(?!<script>: ).)*\} )?<script>: '
	r'voip-f2b: login src=([0-9A-Fa-f.:]+) port=\d+ method=\S+: an office for a day \(logged once a day\)$')
LOGIN_MARKS = (b'SuccessfulAuth', b'voip-f2b: login src=')


def _kamailioLogin(line, now=None):
	"""(address, epoch seconds) of Kamailio's login line, or None."""
	m = KAM_LOGIN.match(line)
	ip = _address(m.group(4)) if m else None
	if not ip:
		return None
	try:
		if m.group(1):
			return (ip, _loginTime(m.group(1), m.group(2).replace(':', '').replace('Z', '+0000')))
		# a traditional syslog stamp has no year: this year's, or last year's when that is in the future
		now = time.time() if now is None else now
		year = time.gmtime(now).tm_year
		t = time.mktime(time.strptime('%d %s' % (year, m.group(3)), '%Y %b %d %H:%M:%S'))
		return (ip, int(t if t <= now + 86400 else time.mktime(time.strptime('%d %s' % (year - 1, m.group(3)), '%Y %b %d %H:%M:%S'))))
	except ValueError:
		return None


def _login(line):
	"""(address, epoch seconds) of a SuccessfulAuth line (Asterisk) or a login line (Kamailio), or None."""
	if 'voip-f2b: login src=' in line:
		return _kamailioLogin(line)
	m = LOGIN_HEAD.match(line)
	pairs = list(LOGIN_PAIR.finditer(line)) if m else []
	if not pairs or 'RemoteAddress=' in line[pairs[-1].end():]:
		return None
	ip = _address(pairs[-1].group(1))
	try:
		return (ip, _loginTime(m.group(1), m.group(2))) if ip else None
	except ValueError:
		return None


def _address(text):
	"""The address in `text` (v4, v6, v6 in brackets) in canonical form, or None."""
	try:
		return ipaddress.ip_address(text.strip().strip('[]')).compressed
	except ValueError:
		return None


def _registered(text):
	"""
	The addresses with a registered device in a console's answer: FreeSWITCH's
	`show registrations as json` (network_ip: where the REGISTER came from), Asterisk's
	`pjsip show contacts` ("Contact:  <aor>/<uri> <hash> <status> <rtt>": the host of the contact
	URI, the source address where rewrite_contact is on) or Kamailio's `kamcmd ul.dump` (each
	contact's Address and Received, see _kamcmdContacts).
	"""
	out = set()
	try:
		doc = json.loads(text)
	except ValueError:
		doc = None
	if isinstance(doc, dict):
		for row in doc.get('rows') or []:
			a = _address(str(row.get('network_ip', ''))) if isinstance(row, dict) else None
			if a:
				out.add(a)
		return out
	if re.match(r'^\{\s*Domains: \{', text):
		return _kamcmdContacts(text)
	for line in text.splitlines():
		m = re.match(r'^\s*(?:Contact:\s+\S*?/|Received:\s+)sips?:(?:[^@\s;>]*@)?(\[[0-9A-Fa-f:.]+\]|[0-9.]+)', line)
		a = _address(m.group(1)) if m else None
		if a:
			out.add(a)
	return out


def _kamcmdContacts(text):
	"""
	Kamailio's `kamcmd ul.dump`: the host of each contact's Address (the contact URI the phone
	sent) and its Received (the source address, where the script's NAT handling saved it). Only
	these fields of a "Contact: {" block, at that block's own indentation: User-Agent, Call-ID
	and Path are peer text printed as sent, a line of theirs is never read as a field.
	"""
	out = set()
	depth = None  # the tabs of the fields of the Contact block being read
	for line in text.splitlines():
		tabs = len(line) - len(line.lstrip('\t'))
		if depth is None:
			if re.match(r'^\t*Contact: \{$', line):
				depth = tabs + 1
			continue
		if line == '\t' * (depth - 1) + '}':
			depth = None
			continue
		m = re.match(r'^(?:Address|Received): sips?:(?:[^@\s;>]*@)?(\[[0-9A-Fa-f:.]+\]|[0-9.]+)(?::\d+)?(?:;\S*)?$', line[tabs:]) if tabs == depth else None
		a = _address(m.group(1)) if m else None
		if a:
			out.add(a)
	return out


def _loginTime(tv, tz):
	"""EventTV (2026-12-07T05:10:00, +0000) as epoch seconds."""
	t = calendar.timegm(time.strptime(tv, '%Y-%m-%dT%H:%M:%S'))
	if tz:
		off = (int(tz[1:3]) * 3600 + int(tz[3:5]) * 60) * (1 if tz[0] == '+' else -1)
		t -= off
	return t


def _notRootsAlone(program):
	"""
	Why `program` is not run as root, or None: it and every directory above it must be root's and
	writable by root alone (lstat, symlinks refused: a service account could plant one), as the
	tool's own facts check it.
	"""
	p = program
	try:
		while True:
			st = os.lstat(p)
			if st.st_uid != 0 or st.st_mode & 0o022 or (p == program and not stat.S_ISREG(st.st_mode)):
				return '%s is not root\'s alone (%s)' % (program, p)
			if p == '/':
				return None
			p = os.path.dirname(p)
	except OSError:
		return None  # not there: running it says so


def _ports(port):
	"""fail2ban's port list ("5060,5061", "5060:5070") as numbers and ranges; names refused."""
	out = []
	for p in str(port).replace(' ', '').split(','):
		m = re.match(r'^(\d{1,5})(?:[:-](\d{1,5}))?$', p)
		if not m or int(m.group(1)) > 65535 or (m.group(2) and int(m.group(2)) > 65535):
			raise ValueError('port must be numbers or ranges (5060,5061 or 5060:5070), not %r' % (port,))
		out.append(m.group(1) if not m.group(2) else '%s-%s' % (m.group(1), m.group(2)))
	return out


def _number(text, kind):
	"""The number in `text`, or NaN / 0 (then refused by the range check that follows, naming the value)."""
	try:
		return kind(text)
	except (TypeError, ValueError):
		return float('nan') if kind is float else 0


def _options(jail, port='5060,5061', window='2', backend=None, office=None, office_logins='0',
		office_maxretry=None, office_refresh='30', office_state=None, pause='1', **kwargs):
	"""The action line's options, checked (ValueError naming the bad value): the same for start and reload."""
	o = {}
	if str(pause).lower() not in ('1', 'true', 'yes', 'on', '0', 'false', 'no', 'off'):
		raise ValueError('pause must be 1 or 0, not %r' % (pause,))
	o['pause'] = str(pause).lower() in ('1', 'true', 'yes', 'on')
	o['window'] = _number(window, float)
	if not 0.2 <= o['window'] <= 60:
		raise ValueError('window must be 0.2 to 60 seconds, not %r' % (window,))
	o['ports'] = _ports(port)
	if backend is None:
		backend = 'nft' if shutil.which('nft') else 'ipset'
	if backend not in ('nft', 'ipset'):
		raise ValueError('backend must be nft or ipset, not %r' % (backend,))
	o['backend'] = backend
	o['officeCmd'] = shlex.split(office) if office else None
	if o['officeCmd'] is not None and (not o['officeCmd'] or not o['officeCmd'][0].startswith('/')):
		raise ValueError('office must be a console command with its absolute program, not %r' % (office,))
	o['officeLogins'] = str(office_logins).lower() in ('1', 'true', 'yes', 'on')
	o['officeMaxretry'] = _number(office_maxretry, int) if office_maxretry not in (None, '') else None
	if o['officeMaxretry'] is not None and not 1 <= o['officeMaxretry'] <= 100000:
		raise ValueError('office_maxretry must be 1 to 100000 failures, not %r' % (office_maxretry,))
	o['officeRefresh'] = _number(office_refresh, float)
	if not 1 <= o['officeRefresh'] <= 3600:
		raise ValueError('office_refresh must be 1 to 3600 seconds, not %r' % (office_refresh,))
	safe = re.sub(r'[^A-Za-z0-9_-]', '_', jail.name)
	o['officeState'] = office_state or os.path.join(STATE_DIR, 'office-%s.json' % safe)
	return o


class GuardAction(ActionBase):
	def __init__(self, jail, name, **opts):
		super(GuardAction, self).__init__(jail, name)
		o = _options(jail, **opts)
		self.window = o['window']
		self.ports = o['ports']
		self.backend = o['backend']
		self.pause = o['pause']
		safe = re.sub(r'[^A-Za-z0-9_-]', '_', jail.name)
		self.table = 'f2bg-' + safe
		self.set4 = ('f2bg-' + safe)[:29] + '4'
		self.set6 = ('f2bg-' + safe)[:29] + '6'
		self._lock = threading.Lock()
		self._counted = {}   # (ip, user, callid) -> wall time of the counted failure
		self._accounts = {}  # user -> [(wall time, ip)] of its counted failures within findtime
		self._attacked = {}  # user -> wall time until which it is under attack
		self._paused = False  # the pause is in force (the firewall part started)
		self._cond = threading.Condition()
		self._queue = []
		self._worker = None
		self._stopping = False
		self._fm = None
		# Offices behind one address (see the top of this file).
		self.officeCmd = o['officeCmd']
		self.officeLogins = o['officeLogins']
		self.officeMaxretry = o['officeMaxretry']
		self.officeRefresh = o['officeRefresh']
		self.officeState = o['officeState']
		self._offices = {}  # ip -> {'registered': bool, 'login': epoch of its last login or None}
		self._logins = {}  # ip -> epoch of its last successful login (within a day)
		self._tails = {}  # log path -> (dev, ino, offset read up to)
		self._officeFails = {}  # ip -> [(wall time, user)] of its failures within findtime
		self._officeWarned = {}  # (ip, user) -> failures when its last warning was logged
		self._console = 'none' if self.officeCmd is None else 'not yet run'
		self._officeWake = threading.Condition()
		self._officeStop = False
		self._officeThread = None
		self._refreshNow = False
		self._stateDirty = False
		self._stateText = None
		try:
			self._fm = jail.filter.failManager
			self._wrap()
		except Exception as e:  # a fail2ban without these internals: the jail works as before
			self._fm = None
			self._logSys.error('%s: guard: cannot hook the failure counter (%s): every failure counts, nothing is paused', jail.name, e)

	# -- the failure manager's hook ---------------------------------------------------------

	def _wrap(self):
		current = self._fm.addFailure
		original = getattr(current, MARK, None) or current  # a reload: never wrap twice
		self._original = original

		def addFailure(ticket, count=1, observed=False):
			return self._addFailure(ticket, count, observed)
		setattr(addFailure, MARK, original)
		self._fm.addFailure = addFailure

	def _unwrap(self):
		if getattr(self._fm.addFailure, MARK, None) is self._original:
			try:
				del self._fm.addFailure  # the instance attribute; the class method shows again
			except AttributeError:
				pass

	def _addFailure(self, ticket, count, observed):
		try:
			verdict = self._judge(ticket, observed)
		except Exception as e:  # never lose a failure to a bug here
			self._logSys.error('%s: guard: %s', self._jail.name, e)
			verdict = 'count'
		if verdict in ('repeat', 'office'):
			return 0  # not counted by fail2ban (an office's failures are counted by the guard)
		if verdict in ('attack', 'office-ban'):
			count = max(count, self._fm.getMaxRetry())
		return self._original(ticket, count, observed)

	def _judge(self, ticket, observed):
		"""
		'count', 'repeat' (not counted), 'attack' (counted as maxretry failures), 'office' (counted by
		the guard only) or 'office-ban' (an office's failures reached office_maxretry: banned).
		"""
		if observed:  # the observer's second look at a ticket the filter already judged
			verdict = getattr(ticket, MARK, 'count')
			return 'office' if verdict == 'office-ban' else verdict  # banned once is enough
		now = time.time()
		live = ticket.getTime() >= now - self.window - 1  # not a line read back at start-up
		ip = str(ticket.getID())
		user = ticket.getData('user')
		key = (ip, user, ticket.getData('callid'))
		with self._lock:
			self._expire(now)
			if live and self._paused and key[1] is not None and now - self._counted.get(key, -1e9) < self.window:
				verdict = 'repeat'
			else:
				if live:
					self._counted[key] = now
				attacked = self._account(ip, user, now)
				if ip in self._offices:
					verdict = self._office(ip, user, now)
				else:
					verdict = 'attack' if attacked else 'count'
		setattr(ticket, MARK, verdict)
		if verdict != 'repeat' and live:
			self._enqueue(('pause', ip))
		return verdict

	def _account(self, ip, user, now):
		"""Records a counted failure on `user`; True when the account is under attack."""
		if not user or user.startswith('<'):  # no account, or Asterisk's "<unknown>"
			return False
		findtime = self._fm.getMaxTime()
		failures = self._accounts.setdefault(user, [])
		failures.append((now, ip))
		if user in self._attacked:
			self._attacked[user] = now + findtime
			return True
		ips = set(i for _, i in failures)
		if len(failures) < self._fm.getMaxRetry() or len(ips) < 2:
			return False
		self._attacked[user] = now + findtime
		self._logSys.warning(
			'[%s] voip-f2b: account %r is under attack: %d failures from %d addresses within findtime; '
			'banning each address that fails on it', self._jail.name, user, len(failures), len(ips))
		for other in sorted(ips - set([ip])):
			if other not in self._offices:  # an office is banned at its own threshold only
				self._enqueue(('ban', other))
		return True

	def _office(self, ip, user, now):
		"""Counts a failure of an office; 'office-ban' when it reached its threshold."""
		maxretry = self._fm.getMaxRetry()
		limit = self._officeLimit()
		fails = self._officeFails.setdefault(ip, [])
		fails.append((now, user))
		self._stateDirty = True
		if len(fails) >= limit:
			self._logSys.warning(
				'[%s] voip-f2b-guard: office %s banned: %d failures within findtime (its threshold: %d, %s)',
				self._jail.name, ip, len(fails), limit, self._why(ip))
			del self._officeFails[ip]
			for k in [k for k in self._officeWarned if k[0] == ip]:
				del self._officeWarned[k]
			self._wakeOffice()
			return 'office-ban'
		if user:
			n = sum(1 for _, u in fails if u == user)
			if n < self._officeWarned.get((ip, user), 0):  # older failures expired
				self._officeWarned[(ip, user)] = n
			if n - self._officeWarned.get((ip, user), 0) >= maxretry:
				self._officeWarned[(ip, user)] = n
				self._logSys.warning(
					'[%s] voip-f2b-guard: office %s %s; account %r keeps failing (%d of %d failures that ban the address)',
					self._jail.name, ip, self._why(ip), user, len(fails), limit)
		self._wakeOffice()
		return 'office'

	def _officeLimit(self):
		return self.officeMaxretry or 10 * self._fm.getMaxRetry()

	def _why(self, ip):
		o = self._offices.get(ip) or {}
		if o.get('registered'):
			return 'has a registered device'
		return 'had a successful login %s' % time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(o.get('login') or 0))

	def _expire(self, now):
		for key in [k for k, t in self._counted.items() if now - t >= self.window]:
			del self._counted[key]
		findtime = self._fm.getMaxTime()
		for user in list(self._accounts):
			kept = [f for f in self._accounts[user] if now - f[0] < findtime]
			if kept:
				self._accounts[user] = kept
			else:
				del self._accounts[user]
		for user in [u for u, t in self._attacked.items() if t <= now]:
			del self._attacked[user]
		for ip in list(self._officeFails):
			kept = [f for f in self._officeFails[ip] if now - f[0] < findtime]
			if len(kept) != len(self._officeFails[ip]):
				self._stateDirty = True
			if kept:
				self._officeFails[ip] = kept
			else:
				del self._officeFails[ip]
		for key in list(self._officeWarned):
			if key[0] not in self._officeFails:
				del self._officeWarned[key]

	# -- fail2ban's interface ---------------------------------------------------------------

	def start(self):
		if self._fm is None:
			return
		# How fast fail2ban reads a failure. Its pyinotify (and systemd) loop blocks for an event
		# up to the filter's sleep time, then SLEEPS a poll step (Utils.DEFAULT_SLEEP_INTERVAL,
		# 0.2 s, growing) before it waits again: a line written then sat unread for up to 0.2 s,
		# a scanner's 30 guesses (measured: 1 to 175 ms after the write, 50 ms on average). The
		# ban thread waits the same way (up to 0.8 s). With a 0.05 s loop and a 0.01 s step,
		# fail2ban reads each line within ~10 ms of its write. Cost, measured on an idle
		# fail2ban-server with one such jail: 0.07 s of CPU per 30 s, against 0.02 s without.
		if Utils.DEFAULT_SLEEP_INTERVAL > POLL_STEP:
			Utils.DEFAULT_SLEEP_INTERVAL = POLL_STEP
		if type(self._jail.filter).__name__ in ('FilterPyinotify', 'FilterSystemd') and self._jail.filter.sleeptime > READ_WAIT:
			self._jail.filter.sleeptime = READ_WAIT
		if self.pause:
			self._restartFirewall()
		else:
			self._paused = False  # pause=0: nothing paused, every failure counts (the server stops sources itself)
		with self._cond:
			self._stopping = False
			if self._worker is None or not self._worker.is_alive():
				self._worker = threading.Thread(target=self._work, name='f2b/%s-guard' % self._jail.name)
				self._worker.daemon = True
				self._worker.start()
		if self.officeCmd is not None or self.officeLogins:
			self._officeStart()

	def _officeStart(self):
		self._loadState()
		with self._officeWake:
			self._officeStop = False
			if self._officeThread is None or not self._officeThread.is_alive():
				self._officeThread = threading.Thread(target=self._officeLoop, name='f2b/%s-office' % self._jail.name)
				self._officeThread.daemon = True
				self._officeThread.start()

	# `fail2ban-client reload` (and `systemctl reload fail2ban`, `reload <jail>`, the web view's
	# whitelist change): fail2ban keeps an action that has BOTH clearAllParams() and reload(); one
	# without them is created anew and the old one stopped as obsolete, which removed the pause
	# table and the failure counter's hook (the new one's too): nothing was paused any more.

	def clearAllParams(self):
		"""Nothing to clear: reload() gets every option of the jail's action line again."""

	def reload(self, **opts):
		"""
		Applies the action line's options again, keeping the pause table, every pause in force, the
		counted failures and the offices. Unchanged options: the firewall is only read. Changed
		ports: the rules are replaced, the pause sets stay. A changed backend, or a table, set or
		rule removed meanwhile: rebuilt (pauses last `window` seconds; those in force are then lost).
		"""
		try:
			o = _options(self._jail, **opts)
		except ValueError as e:  # raised here, it would abort fail2ban's reload of the whole jail
			self._logSys.error('%s: guard: reload: %s; the current options stay', self._jail.name, e)
			return
		if self._fm is None:
			return
		if getattr(self._fm.addFailure, MARK, None) is not self._original:
			self._wrap()  # the hook was removed (a stop of an older copy of this action): again
		oldPorts = self.ports
		self.window = o['window']
		if not o['pause']:
			if self.pause or self._paused:
				self._firewallStop()
			self._paused = False
			self.backend, self.ports = o['backend'], o['ports']
		elif not self.pause or o['backend'] != self.backend or not self._firewallPresent(oldPorts):
			self._firewallStop()  # what is left of the old one (old ports, old backend)
			self.backend, self.ports = o['backend'], o['ports']
			self._restartFirewall()
		elif o['ports'] != oldPorts:
			self.ports = o['ports']
			self._swapRules(oldPorts)
		self.pause = o['pause']
		# Offices: new options apply from the next refresh, which runs at once when they changed.
		changed = (o['officeCmd'], o['officeLogins'], o['officeRefresh']) != (self.officeCmd, self.officeLogins, self.officeRefresh)
		if o['officeState'] != self.officeState or o['officeMaxretry'] != self.officeMaxretry:
			self._stateText = None
			self._stateDirty = True
		if o['officeCmd'] != self.officeCmd:
			self._console = 'none' if o['officeCmd'] is None else 'not yet run'
		self.officeCmd, self.officeLogins, self.officeRefresh = o['officeCmd'], o['officeLogins'], o['officeRefresh']
		self.officeMaxretry, self.officeState = o['officeMaxretry'], o['officeState']
		if self.officeCmd is not None or self.officeLogins:
			if changed:
				self._refreshNow = True
			self._officeStart()
			self._wakeOffice()
		else:
			with self._officeWake:
				self._officeStop = True
				self._officeWake.notify_all()
			with self._lock:
				self._offices = {}  # no office detection any more: every address counts as usual
				self._officeFails = {}
				self._officeWarned = {}

	def _restartFirewall(self):
		try:
			self._firewallStart()
			self._paused = True
		except Exception as e:
			self._paused = False
			self._logSys.error('%s: guard: the pause cannot be set (%s): every failure counts', self._jail.name, e)

	def _firewallPresent(self, ports):
		"""The pause table (sets and rules), or the ipsets and rules, for `ports` are there."""
		if self.backend == 'nft':
			p = subprocess.run(['nft', 'list', 'table', 'inet', self.table], stdin=subprocess.DEVNULL,
				stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True, cwd='/', timeout=60)
			text = p.stdout.decode('utf-8', 'replace')
			return p.returncode == 0 and all(w in text for w in ('set p4 ', 'set p6 ', 'saddr @p4 ', 'saddr @p6 ', 'hook input'))
		for s in (self.set4, self.set6):
			if self._run(['ipset', 'list', '-n', s], check=False, quiet=True) != 0:
				return False
		for tool, s in (('iptables', self.set4), ('ip6tables', self.set6)):
			for proto in ('udp', 'tcp'):
				if self._run([tool, '-w', '-C', 'INPUT'] + self._rule(s, proto, ports), check=False, quiet=True) != 0:
					return False
		return True

	def _swapRules(self, oldPorts):
		"""The rules for the new ports; the pause sets (and the pauses in them) untouched."""
		if self.backend == 'nft':
			ports = ', '.join(self.ports)
			self._run(['nft', '-f', '-'], data=(
				'flush chain inet %(t)s input\n'
				'add rule inet %(t)s input ip saddr @p4 meta l4proto { tcp, udp } th dport { %(p)s } drop\n'
				'add rule inet %(t)s input ip6 saddr @p6 meta l4proto { tcp, udp } th dport { %(p)s } drop\n') % {'t': self.table, 'p': ports})
		else:
			for tool, s in (('iptables', self.set4), ('ip6tables', self.set6)):
				for proto in ('udp', 'tcp'):
					self._run([tool, '-w', '-I', 'INPUT'] + self._rule(s, proto))
					for _ in range(100):
						if self._run([tool, '-w', '-D', 'INPUT'] + self._rule(s, proto, oldPorts), check=False, quiet=True) != 0:
							break

	def ban(self, aInfo):
		pass

	def unban(self, aInfo):
		"""A fresh start: the address's failures in this jail are forgotten."""
		if self._fm is None:
			return
		ip = str(aInfo['ip'])
		try:
			self._fm.delFailure(aInfo['ip'])
		except Exception:
			pass
		self._enqueue(('unpause', ip))
		with self._lock:
			for key in [k for k in self._counted if k[0] == ip]:
				del self._counted[key]
			for user in list(self._accounts):
				self._accounts[user] = [f for f in self._accounts[user] if f[1] != ip]
			if self._officeFails.pop(ip, None) is not None:
				self._stateDirty = True
			for key in [k for k in self._officeWarned if k[0] == ip]:
				del self._officeWarned[key]

	def stop(self):
		if self._fm is None:
			return
		with self._cond:
			self._stopping = True
			self._cond.notify_all()
		with self._officeWake:
			self._officeStop = True
			self._officeWake.notify_all()
		self._unwrap()
		if self.pause or self._paused:
			self._firewallStop()
		self._paused = False

	# -- the worker: pauses and account bans, off the filter's thread -------------------------

	def _enqueue(self, item):
		with self._cond:
			self._queue.append(item)
			self._cond.notify_all()

	def _work(self):
		while True:
			with self._cond:
				while not self._queue and not self._stopping:
					self._cond.wait()
				if self._stopping:
					return
				batch, self._queue = self._queue, []
			pauses = [ip for op, ip in batch if op == 'pause']
			bans = [ip for op, ip in batch if op == 'ban']
			for op, ips in (('pause', pauses), ('unpause', [ip for op, ip in batch if op == 'unpause'])):
				try:
					if ips and self._paused:
						self._pause(ips, op == 'pause')
				except Exception as e:  # keep the worker alive whatever happens
					self._logSys.error('%s: guard: %s %s failed: %s', self._jail.name, op, ', '.join(ips), e)
			for ip in bans:
				try:
					self._jail.actions.addBannedIP(ip)
				except Exception as e:
					self._logSys.error('%s: guard: banning %s failed: %s', self._jail.name, ip, e)

	# -- offices: the refresh thread, off the filter's thread -------------------------------

	def _wakeOffice(self):
		with self._officeWake:
			self._officeWake.notify_all()

	def _officeLoop(self):
		"""Refreshes the offices every office_refresh seconds; writes the state file when it changed (at most once a second)."""
		due = 0
		written = 0  # when the state file was last written: a flood of failures writes it once a second
		while True:
			now = time.time()
			if now >= due or self._refreshNow:
				self._refreshNow = False
				due = now + self.officeRefresh
				try:
					self._refresh(now)
				except Exception as e:  # keep the thread alive whatever happens
					self._logSys.error('[%s] voip-f2b-guard: office refresh failed: %s', self._jail.name, e)
			if self._stateDirty and now - written >= 1.0:
				written = now
				try:
					self._writeState()
				except Exception as e:
					self._logSys.error('[%s] voip-f2b-guard: office state %s: %s', self._jail.name, self.officeState, e)
			with self._officeWake:
				if self._officeStop:
					return
				if self._refreshNow:
					continue
				wait = due - time.time()
				if self._stateDirty:
					wait = min(wait, written + 1.0 - time.time())
				self._officeWake.wait(max(0.05, wait))
				if self._officeStop:
					return

	def _refresh(self, now):
		registered = set()
		console = self._console
		if self.officeCmd is not None:
			try:
				registered = _registered(self._consoleOutput())
				if self._console != 'ok':
					if self._console != 'not yet run':
						self._logSys.warning('[%s] voip-f2b-guard: office detection: the console answers again', self._jail.name)
					self._console = 'ok'
			except Exception as e:
				if self._console in ('ok', 'not yet run'):  # said once, until it works again
					self._logSys.warning(
						'[%s] voip-f2b-guard: office detection: %s cannot be run (%s): registered devices make no office until it can%s',
						self._jail.name, ' '.join(self.officeCmd), e, '' if self.officeLogins else '; the jail works as before')
				self._console = 'failing: %s' % (str(e)[:200],)
		if self.officeLogins:
			self._readLogins()
		with self._lock:
			for ip in [i for i, t in self._logins.items() if now - t >= LOGIN_DAY]:
				del self._logins[ip]
			offices = {}
			for ip in registered:
				offices[ip] = {'registered': True, 'login': self._logins.get(ip)}
			for ip, t in self._logins.items():
				offices.setdefault(ip, {'registered': False, 'login': t})
			if self._officeStop or (self.officeCmd is None and not self.officeLogins):
				return  # a reload turned office detection off while this refresh ran: it stays off
			if offices != self._offices or console != self._console:
				self._stateDirty = True
			self._offices = offices

	def _consoleOutput(self):
		why = _notRootsAlone(self.officeCmd[0])
		if why:
			raise RuntimeError(why)
		p = subprocess.Popen(self.officeCmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
			close_fds=True, cwd='/', env={'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C', 'HOME': os.environ.get('HOME', '/root')})
		try:
			out, err = p.communicate(timeout=15)
		except subprocess.TimeoutExpired:
			p.kill()
			p.communicate()
			raise RuntimeError('no answer within 15 s')
		if p.returncode != 0:
			raise RuntimeError('exit %d: %s' % (p.returncode, (err or out).decode('utf-8', 'replace').strip()[:200]))
		return out[:16 << 20].decode('utf-8', 'replace')

	def _readLogins(self):
		"""New logins (Asterisk's SuccessfulAuth, Kamailio's login line) in the jail's logs since the last look (the last 16 MB at the first)."""
		paths = self._jail.filter.getLogPaths() if hasattr(self._jail.filter, 'getLogPaths') else []
		for path in paths:
			try:
				fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
			except OSError:
				continue  # not there (yet), or a symlink: fail2ban's own reading says so
			try:
				st = os.fstat(fd)
				if not stat.S_ISREG(st.st_mode):
					continue
				dev, ino, pos = self._tails.get(path, (None, None, None))
				if pos is None:
					pos = max(0, st.st_size - TAIL_FIRST)
				elif (dev, ino) != (st.st_dev, st.st_ino) or st.st_size < pos:
					pos = 0  # rotated, or truncated: a new file from its start
				data = os.pread(fd, min(TAIL_STEP, max(0, st.st_size - pos)), pos) if st.st_size > pos else b''
				end = data.rfind(b'\n') + 1  # complete lines only
				self._tails[path] = (st.st_dev, st.st_ino, pos + end)
			finally:
				os.close(fd)
			if not any(mark in data[:end] for mark in LOGIN_MARKS):
				continue
			for line in data[:end].split(b'\n'):
				if not any(mark in line for mark in LOGIN_MARKS):
					continue
				login = _login(line.decode('utf-8', 'replace'))
				if not login:
					continue
				ip, t = login
				with self._lock:
					if t > self._logins.get(ip, 0):
						self._logins[ip] = t

	def _stateDoc(self):
		"""
		The state file (JSON, version 1), for the watch and the admin:
		  {"version": 1, "jail": <name>, "updated": <epoch s>, "maxretry": <n>, "officeMaxretry": <n>,
		   "findtime": <s>, "console": "ok" | "none" | "not yet run" | "failing: <why>",
		   "offices": [{"address": <ip>, "registered": <bool>, "lastLogin": <epoch s> | null,
		                "failures": <n within findtime>,
		                "accounts": [{"account": <user>, "failures": <n>, "last": <epoch s>}]}]}
		Offices sorted by address; accounts by failures, most first (at most 20 each, 64 characters).
		"""
		with self._lock:
			offices = []
			for ip in sorted(self._offices)[:10000]:
				o = self._offices[ip]
				fails = self._officeFails.get(ip, [])
				accounts = {}
				for t, u in fails:
					if u:
						a = accounts.setdefault(u, {'account': str(u)[:64], 'failures': 0, 'last': 0})
						a['failures'] += 1
						a['last'] = max(a['last'], int(t))
				offices.append({
					'address': ip, 'registered': o['registered'], 'lastLogin': int(o['login']) if o['login'] else None,
					'failures': len(fails),
					'accounts': sorted(accounts.values(), key=lambda a: (-a['failures'], a['account']))[:20],
				})
			return {
				'version': 1, 'jail': self._jail.name, 'maxretry': self._fm.getMaxRetry(), 'officeMaxretry': self._officeLimit(),
				'findtime': self._fm.getMaxTime(), 'console': self._console, 'offices': offices,
			}

	def _writeState(self):
		"""Writes the state file when its content changed: a temp file (O_NOFOLLOW, 0644) renamed over it, in root's directory."""
		self._stateDirty = False
		doc = self._stateDoc()
		text = json.dumps(doc, sort_keys=True)
		if text == self._stateText:
			return
		doc['updated'] = int(time.time())
		d = os.path.dirname(self.officeState)
		try:
			os.mkdir(d, 0o755)
		except FileExistsError:
			pass
		st = os.lstat(d)
		if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
			raise RuntimeError('%s is not a directory only root can write' % d)
		tmp = self.officeState + '.tmp'
		try:
			os.unlink(tmp)
		except FileNotFoundError:
			pass
		fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
		try:
			os.write(fd, (json.dumps(doc, sort_keys=True, indent=1) + '\n').encode('utf-8'))
			os.fsync(fd)
		finally:
			os.close(fd)
		os.rename(tmp, self.officeState)
		self._stateText = text

	def _loadState(self):
		"""The logins of the last day from the state file (a restart, a rotated log forget none)."""
		try:
			fd = os.open(self.officeState, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
		except OSError:
			return
		try:
			st = os.fstat(fd)
			if not stat.S_ISREG(st.st_mode) or st.st_uid != 0 or st.st_size > (8 << 20):
				return
			doc = json.loads(os.read(fd, st.st_size).decode('utf-8'))
			now = time.time()
			with self._lock:
				for o in doc.get('offices', []):
					ip, t = _address(str(o.get('address', ''))), o.get('lastLogin')
					if ip and isinstance(t, (int, float)) and now - t < LOGIN_DAY and t > self._logins.get(ip, 0):
						self._logins[ip] = t
		except Exception as e:
			self._logSys.debug('[%s] voip-f2b-guard: office state %s not read: %s', self._jail.name, self.officeState, e)
		finally:
			os.close(fd)

	# -- the firewall -----------------------------------------------------------------------

	def _firewallStart(self):
		self._firewallStop()
		if self.backend == 'nft':
			ports = ', '.join(self.ports)
			self._run(['nft', '-f', '-'], data=(
				'table inet %(t)s {\n'
				'  set p4 { type ipv4_addr; flags timeout; }\n'
				'  set p6 { type ipv6_addr; flags timeout; }\n'
				'  chain input {\n'
				'    type filter hook input priority -2; policy accept;\n'
				'    ip saddr @p4 meta l4proto { tcp, udp } th dport { %(p)s } drop\n'
				'    ip6 saddr @p6 meta l4proto { tcp, udp } th dport { %(p)s } drop\n'
				'  }\n'
				'}\n') % {'t': self.table, 'p': ports})
		else:
			for s, fam in ((self.set4, 'inet'), (self.set6, 'inet6')):
				self._run(['ipset', 'create', s, 'hash:ip', 'family', fam, 'timeout', '0', 'maxelem', '1048576', '-exist'])
			for tool, s in (('iptables', self.set4), ('ip6tables', self.set6)):
				for proto in ('udp', 'tcp'):
					self._run([tool, '-w', '-I', 'INPUT'] + self._rule(s, proto))

	def _rule(self, s, proto, ports=None):
		ports = ','.join(p.replace('-', ':') for p in (ports or self.ports))
		return ['-p', proto, '-m', 'multiport', '--dports', ports, '-m', 'set', '--match-set', s, 'src', '-j', 'DROP']

	def _firewallStop(self):
		if self.backend == 'nft':
			self._run(['nft', '-f', '-'], data='table inet %(t)s {}\ndelete table inet %(t)s\n' % {'t': self.table}, check=False)
		else:
			for tool, s in (('iptables', self.set4), ('ip6tables', self.set6)):
				for proto in ('udp', 'tcp'):
					for _ in range(100):  # bounded: one rule each is ours
						if self._run([tool, '-w', '-D', 'INPUT'] + self._rule(s, proto), check=False, quiet=True) != 0:
							break
			for s in (self.set4, self.set6):
				self._run(['ipset', 'destroy', s], check=False, quiet=True)

	def _pause(self, ips, on=True):
		"""Pauses the addresses for the window (on), or ends their pause (an unban: a fresh start)."""
		seconds = max(1, int(round(self.window)))
		fams = {4: [], 6: []}
		for ip in ips:
			addr = ipaddress.ip_address(ip)  # raises on anything that is not one address
			fams[addr.version].append(str(addr))
		if self.backend == 'nft':
			if on:
				lines = ['add element inet %s p%d { %s timeout %dms }' % (self.table, fam, a, int(self.window * 1000)) for fam, addrs in fams.items() for a in addrs]
				self._run(['nft', '-f', '-'], data='\n'.join(lines) + '\n')
			else:  # one by one: deleting an element no longer there (its pause ended) fails
				for fam, addrs in fams.items():
					for a in addrs:
						self._run(['nft', 'delete', 'element', 'inet', self.table, 'p%d' % fam, '{ %s }' % a], check=False, quiet=True)
		else:
			verb = 'add %s %s timeout ' + str(seconds) if on else 'del %s %s'
			lines = [verb % (self.set4 if fam == 4 else self.set6, a) for fam, addrs in fams.items() for a in addrs]
			self._run(['ipset', 'restore', '-exist'], data='\n'.join(lines) + '\n')

	def _run(self, argv, data=None, check=True, quiet=False):
		p = subprocess.Popen(argv, stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
			stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, close_fds=True, cwd='/')
		_, err = p.communicate(data.encode('ascii') if data is not None else None, timeout=60)
		if p.returncode != 0 and not quiet:
			msg = '%s: %s exited %d: %s' % (self._jail.name, argv[0], p.returncode, err.decode('utf-8', 'replace').strip()[:500])
			if check:
				raise RuntimeError(msg)
			self._logSys.debug(msg)
		return p.returncode


Action = GuardAction
