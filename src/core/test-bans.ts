/**
 * Addresses doctor's ban round trip may use: TEST-NET-3 (RFC 5737), never routed, never a real
 * host. The first one not whitelisted in the jail is used. A ban of one of them is doctor's own
 * test, never an attacker: status, history and the web view leave them out (issue 23).
 */
export const BAN_TEST_ADDRESSES = ['203.0.113.254', '203.0.113.253', '203.0.113.252', '203.0.113.251'] as const;

/** True for one of doctor's test addresses. */
export function isTestBan(ip: string): boolean {
  return (BAN_TEST_ADDRESSES as readonly string[]).includes(ip.trim());
}
