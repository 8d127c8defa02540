# Installed by voip-f2b-install. Overwritten on re-run: put your changes in your own action.
#
# A set-based, batching ban action for fail2ban 0.11+ (pure Python 3, standard library only).
#
# Why: fail2ban's stock actions start one shell and one firewall process per banned address.
# A SIP scan wave bans hundreds of addresses at once, and a restart re-bans every address in
# the database: 1,000 bans took 13 s with iptables-allports (which also leaves one rule per
# address for every packet to walk) and 29 s with nftables-allports. This action keeps the
# banned addresses in kernel hash sets (lookup cost does not grow with their number) and adds
# or removes many addresses with ONE firewall process ("group commit"): ban() only queues the
# address; a worker thread applies everything queued so far in one call, and whatever arrives
# while that call runs goes into the next one. A lone ban is applied at once (no waiting).
#
# All ports and all protocols of a banned address are dropped (it is meant for
# banaction_allports: a SIP scanner gets no answer at all, not even a reject).
#
# The backend is chosen by the file name this module is installed under:
#   voip-f2b-nftset.py  ->  nftables: table inet f2b-<jail>, sets a4/a6, a base chain on the
#                           input hook at priority -1 (before the usual filter chains; a drop
#                           in any nftables base chain is final, so an admin's early
#                           "ct state established accept" does not let a banned flow through).
#   voip-f2b-ipset.py   ->  ipset + iptables/ip6tables: sets f2b-<jail>4/6 (hash:ip) and one
#                           DROP rule at the top of INPUT per family (before an established
#                           accept rule in INPUT), batched with "ipset restore".
# Unban removes one element from a hash set: O(1). Stop and flush remove the table (or
# rules and sets) in one step. Addresses are validated with the ipaddress module before they
# reach a command, and commands are argument lists (no shell).

import ipaddress
import os
import re
import subprocess
import threading

from fail2ban.server.actions import ActionBase

BATCH_MAX = 5000  # elements per firewall call (keeps one call's input bounded)


class SetBanAction(ActionBase):
	def __init__(self, jail, name, backend=None, blocktype='drop', **kwargs):
		# port, protocol, chain, ... from the jail's action_ line are accepted and unused: every
		# port and protocol of a banned address is dropped.
		super(SetBanAction, self).__init__(jail, name)
		if backend is None:
			backend = 'ipset' if os.path.basename(__file__).startswith('voip-f2b-ipset') else 'nft'
		if backend not in ('nft', 'ipset'):
			raise ValueError("backend must be nft or ipset, not %r" % backend)
		if blocktype not in ('drop', 'reject'):
			raise ValueError("blocktype must be drop or reject, not %r" % blocktype)
		self.backend = backend
		self.blocktype = blocktype
		safe = re.sub(r'[^A-Za-z0-9_-]', '_', jail.name)
		if backend == 'nft':
			self.table = 'f2b-' + safe
		else:
			self.set4 = ('f2b-' + safe)[:29] + '4'
			self.set6 = ('f2b-' + safe)[:29] + '6'
		self._cond = threading.Condition()
		self._queue = []  # [(op 'add'|'del', family 4|6, address)] in arrival order
		self._busy = False
		self._worker = None
		self._stopping = False

	# -- fail2ban's interface ---------------------------------------------------------------

	def start(self):
		if self.backend == 'nft':
			verdict = 'drop' if self.blocktype == 'drop' else 'reject'
			self._nft(
				'table inet %(t)s {}\n'
				'delete table inet %(t)s\n'
				'table inet %(t)s {\n'
				'  set a4 { type ipv4_addr; }\n'
				'  set a6 { type ipv6_addr; }\n'
				'  chain input {\n'
				'    type filter hook input priority -1; policy accept;\n'
				'    ip saddr @a4 %(v)s\n'
				'    ip6 saddr @a6 %(v)s\n'
				'  }\n'
				'}\n' % {'t': self.table, 'v': verdict})
		else:
			for s, fam in ((self.set4, 'inet'), (self.set6, 'inet6')):
				self._run(['ipset', 'create', s, 'hash:ip', 'family', fam, 'maxelem', '1048576', '-exist'])
			for tool, s in (('iptables', self.set4), ('ip6tables', self.set6)):
				rule = ['INPUT', '-m', 'set', '--match-set', s, 'src', '-j', 'DROP' if self.blocktype == 'drop' else 'REJECT']
				if self._run([tool, '-w', '-C'] + rule, check=False) != 0:
					self._run([tool, '-w', '-I'] + rule)
		with self._cond:
			self._stopping = False
			if self._worker is None or not self._worker.is_alive():
				self._worker = threading.Thread(target=self._work, name='f2b/%s-set' % self._jail.name)
				self._worker.daemon = True
				self._worker.start()

	# `fail2ban-client reload` (and `systemctl reload fail2ban`, `reload <jail>`): fail2ban keeps an
	# action that has BOTH clearAllParams() and reload(); one without them is created anew and the
	# old one flushed and stopped as obsolete: the table (sets, rule) and every ban in it gone, and
	# the new one never started, so later bans reached no firewall.

	def clearAllParams(self):
		"""Nothing to clear: reload() gets every option of the jail's action line again."""

	def reload(self, backend=None, blocktype='drop', **kwargs):
		"""
		Applies the action line's options again and keeps every ban. Unchanged: the firewall is only
		read. A changed blocktype swaps the rule (the sets stay); a changed backend, or a table,
		set or rule removed by hand meanwhile, is rebuilt and refilled with the jail's current bans.
		"""
		if backend is None:
			backend = self.backend
		# A bad value raised here would abort fail2ban's reload of the whole jail: said, and ignored.
		if backend not in ('nft', 'ipset'):
			self._logSys.error('%s: reload: backend must be nft or ipset, not %r; the current options stay', self._jail.name, backend)
			return
		if blocktype not in ('drop', 'reject'):
			self._logSys.error('%s: reload: blocktype must be drop or reject, not %r; the current options stay', self._jail.name, blocktype)
			return
		if backend != self.backend:
			self._drain()
			self.stop()
			self.backend = backend
			self._setNames()
			self.blocktype = blocktype
			self.start()
			self._rebanAll('the backend changed')
			return
		old, self.blocktype = self.blocktype, blocktype
		if not self._present(old):
			self.start()
			self._rebanAll('the ban set or its rule was missing')
		elif old != blocktype:
			self._swapRule(old)

	def _setNames(self):
		safe = re.sub(r'[^A-Za-z0-9_-]', '_', self._jail.name)
		self.table = 'f2b-' + safe
		self.set4 = ('f2b-' + safe)[:29] + '4'
		self.set6 = ('f2b-' + safe)[:29] + '6'

	def _present(self, blocktype):
		"""The table with both sets and its rules (or both sets and both rules) is there."""
		if self.backend == 'nft':
			p = subprocess.run(['nft', 'list', 'table', 'inet', self.table], stdin=subprocess.DEVNULL,
				stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True, timeout=60)
			text = p.stdout.decode('utf-8', 'replace')
			return p.returncode == 0 and all(w in text for w in ('set a4 ', 'set a6 ', 'ip saddr @a4 ', 'ip6 saddr @a6 ', 'hook input'))
		for s in (self.set4, self.set6):
			if self._run(['ipset', 'list', '-n', s], check=False, quiet=True) != 0:
				return False
		for tool, s in (('iptables', self.set4), ('ip6tables', self.set6)):
			if self._run([tool, '-w', '-C'] + self._ipRule(s, blocktype), check=False, quiet=True) != 0:
				return False
		return True

	def _ipRule(self, s, blocktype):
		return ['INPUT', '-m', 'set', '--match-set', s, 'src', '-j', 'DROP' if blocktype == 'drop' else 'REJECT']

	def _swapRule(self, old):
		"""The rule with the new blocktype, the sets untouched (nft: one transaction; ipset: new rule first)."""
		if self.backend == 'nft':
			self._nft('flush chain inet %(t)s input\n'
				'add rule inet %(t)s input ip saddr @a4 %(v)s\n'
				'add rule inet %(t)s input ip6 saddr @a6 %(v)s\n' % {'t': self.table, 'v': self.blocktype})
		else:
			for tool, s in (('iptables', self.set4), ('ip6tables', self.set6)):
				self._run([tool, '-w', '-I'] + self._ipRule(s, self.blocktype))
				while self._run([tool, '-w', '-D'] + self._ipRule(s, old), check=False, quiet=True) == 0:
					pass

	def _rebanAll(self, why):
		"""Queues every address the jail holds banned (its ban manager) for the set."""
		actions = self._jail.actions
		bm = getattr(actions, 'banManager', None) or getattr(actions, '_Actions__banManager', None)
		ips = bm.getBanList() if bm is not None else []
		for ip in ips:
			try:
				self._enqueue('add', {'ip': ip})
			except ValueError:
				pass
		self._logSys.warning('%s: reload: %s: rebuilt, %d ban(s) restored', self._jail.name, why, len(ips))

	def ban(self, aInfo):
		self._enqueue('add', aInfo)

	def reban(self, aInfo):
		self._enqueue('add', aInfo)

	def unban(self, aInfo):
		self._enqueue('del', aInfo)

	def flush(self):
		"""Unbans everything at once (fail2ban calls this on stop and on `unban --all`)."""
		self._drain()
		if self.backend == 'nft':
			self._nft('flush set inet %(t)s a4\nflush set inet %(t)s a6\n' % {'t': self.table})
		else:
			self._run(['ipset', 'flush', self.set4])
			self._run(['ipset', 'flush', self.set6])
		return True

	def stop(self):
		self._drain()
		with self._cond:
			self._stopping = True
			self._cond.notify_all()
		if self.backend == 'nft':
			self._nft('table inet %(t)s {}\ndelete table inet %(t)s\n' % {'t': self.table})
		else:
			for tool, s in (('iptables', self.set4), ('ip6tables', self.set6)):
				rule = ['INPUT', '-m', 'set', '--match-set', s, 'src', '-j', 'DROP' if self.blocktype == 'drop' else 'REJECT']
				while self._run([tool, '-w', '-D'] + rule, check=False) == 0:
					pass
			for s in (self.set4, self.set6):
				self._run(['ipset', 'destroy', s], check=False)

	# -- the batching worker ----------------------------------------------------------------

	def _enqueue(self, op, aInfo):
		addr = ipaddress.ip_address(str(aInfo['ip']))  # raises on anything that is not one address
		with self._cond:
			self._queue.append((op, addr.version, str(addr)))
			self._cond.notify_all()

	def _drain(self):
		"""Waits until everything queued so far is in the firewall."""
		with self._cond:
			while self._queue or self._busy:
				if self._worker is None or not self._worker.is_alive():
					break
				self._cond.wait(0.5)
		if self._queue:  # no worker (stopped): apply here
			batch, self._queue = self._queue, []
			self._apply(batch)

	def _work(self):
		while True:
			with self._cond:
				while not self._queue and not self._stopping:
					self._cond.wait()
				if not self._queue and self._stopping:
					return
				batch, self._queue = self._queue[:BATCH_MAX], self._queue[BATCH_MAX:]
				self._busy = True
			try:
				self._apply(batch)
			except Exception as e:  # keep the worker alive whatever happens
				self._logSys.error('%s: applying %d change(s) failed: %s', self._jail.name, len(batch), e)
			finally:
				with self._cond:
					self._busy = False
					self._cond.notify_all()

	def _runs(self, batch):
		"""Consecutive changes with the same operation and family, in order."""
		runs = []
		for op, fam, ip in batch:
			if runs and runs[-1][0] == op and runs[-1][1] == fam:
				runs[-1][2].append(ip)
			else:
				runs.append((op, fam, [ip]))
		return runs

	def _apply(self, batch):
		if not batch:
			return
		runs = self._runs(batch)
		if self.backend == 'nft':
			lines = ['%s element inet %s a%d { %s }' % ('add' if op == 'add' else 'delete', self.table, fam, ', '.join(ips)) for op, fam, ips in runs]
			if self._nft('\n'.join(lines) + '\n', check=False) == 0:
				return
			# One call failed as a whole (an unban of an address no longer in the set, a table
			# removed by hand): apply element by element so every other change still lands.
			for op, fam, ips in runs:
				for ip in ips:
					self._nft('%s element inet %s a%d { %s }\n' % ('add' if op == 'add' else 'delete', self.table, fam, ip), check=False, quiet=(op == 'del'))
		else:
			lines = ['%s %s %s' % ('add' if op == 'add' else 'del', self.set4 if fam == 4 else self.set6, ip) for op, fam, ips in runs for ip in ips]
			self._run(['ipset', 'restore', '-exist'], data='\n'.join(lines) + '\n')

	# -- processes --------------------------------------------------------------------------

	def _nft(self, script, check=True, quiet=False):
		return self._run(['nft', '-f', '-'], data=script, check=check, quiet=quiet)

	def _run(self, argv, data=None, check=True, quiet=False):
		p = subprocess.Popen(argv, stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
			stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, close_fds=True)
		_, err = p.communicate(data.encode('ascii') if data is not None else None, timeout=60)
		if p.returncode != 0 and not quiet:
			msg = '%s: %s exited %d: %s' % (self._jail.name, argv[0], p.returncode, err.decode('utf-8', 'replace').strip()[:500])
			if check:
				raise RuntimeError(msg)
			self._logSys.debug(msg)
		return p.returncode


Action = SetBanAction
