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
#
# Use: a second action of the jail, after the ban action:
#   action = %(action_)s
#            voip-f2b-guard.py[port="%(port)s", window=2]
# Backend: nftables (table inet f2bg-<jail>: sets p4/p6 with per-element timeouts and one drop
# rule on the input hook at priority -2) where `nft` exists, else ipset (hash:ip with timeout)
# and one iptables/ip6tables rule per family. Addresses are validated with the ipaddress module
# and commands are argument lists (no shell); a worker thread runs them, so the jail's filter
# never waits for a process.

import ipaddress
import os
import re
import shutil
import subprocess
import threading
import time

from fail2ban.server.actions import ActionBase
from fail2ban.server.utils import Utils

MARK = '_voip_f2b_guard'
READ_WAIT = 0.05  # seconds: the filter's loop time while the guard runs (see start)
POLL_STEP = 0.01  # seconds: fail2ban's poll step while the guard runs (see start)


def _ports(port):
	"""fail2ban's port list ("5060,5061", "5060:5070") as numbers and ranges; names refused."""
	out = []
	for p in str(port).replace(' ', '').split(','):
		m = re.match(r'^(\d{1,5})(?:[:-](\d{1,5}))?$', p)
		if not m or int(m.group(1)) > 65535 or (m.group(2) and int(m.group(2)) > 65535):
			raise ValueError('port must be numbers or ranges (5060,5061 or 5060:5070), not %r' % (port,))
		out.append(m.group(1) if not m.group(2) else '%s-%s' % (m.group(1), m.group(2)))
	return out


class GuardAction(ActionBase):
	def __init__(self, jail, name, port='5060,5061', window='2', backend=None, **kwargs):
		super(GuardAction, self).__init__(jail, name)
		self.window = float(window)
		if not 0.2 <= self.window <= 60:
			raise ValueError('window must be 0.2 to 60 seconds, not %r' % (window,))
		self.ports = _ports(port)
		if backend is None:
			backend = 'nft' if shutil.which('nft') else 'ipset'
		if backend not in ('nft', 'ipset'):
			raise ValueError('backend must be nft or ipset, not %r' % (backend,))
		self.backend = backend
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
		if verdict == 'repeat':
			return 0  # not counted: the filter bans nothing for it
		if verdict == 'attack':
			count = max(count, self._fm.getMaxRetry())
		return self._original(ticket, count, observed)

	def _judge(self, ticket, observed):
		"""'count', 'repeat' (not counted) or 'attack' (counted as maxretry failures)."""
		if observed:  # the observer's second look at a ticket the filter already judged
			return getattr(ticket, MARK, 'count')
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
				verdict = 'attack' if self._account(ip, user, now) else 'count'
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
			self._enqueue(('ban', other))
		return True

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
		try:
			self._firewallStart()
			self._paused = True
		except Exception as e:
			self._paused = False
			self._logSys.error('%s: guard: the pause cannot be set (%s): every failure counts', self._jail.name, e)
		with self._cond:
			self._stopping = False
			if self._worker is None or not self._worker.is_alive():
				self._worker = threading.Thread(target=self._work, name='f2b/%s-guard' % self._jail.name)
				self._worker.daemon = True
				self._worker.start()

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

	def stop(self):
		if self._fm is None:
			return
		with self._cond:
			self._stopping = True
			self._cond.notify_all()
		self._unwrap()
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

	def _rule(self, s, proto):
		ports = ','.join(p.replace('-', ':') for p in self.ports)
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
