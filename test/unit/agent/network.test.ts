import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Sample } from '../../../agent/collector.ts';
import { createNetworkCollector, parseNetDev, parseTcpRetrans } from '../../../agent/collectors/network.ts';
import { ctx, valueOf } from './helpers.ts';

// Shapes as Linux 6.x prints them.
const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  123456     100    0    0    0     0          0         0   123456     100    0    0    0     0       0          0
  eth0: 9876543210 7654321   3   17    0     0          0        12 1234567890 2345678    1    2    0     0       0          0
vethab12cd: 555 5 0 0 0 0 0 0 666 6 0 0 0 0 0 0
  ib0: 42 1 0 0 0 0 0 0 43 2 0 0 0 0 0 0
`;
const SNMP = `Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 123
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
Tcp: 1 200 120000 -1 500 400 3 2 10 100000 90000 321 0 5 0
Udp: InDatagrams NoPorts
Udp: 1 2
`;

const root = mkdtempSync(join(tmpdir(), 'sg-net-'));
after(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, 'proc/net'), { recursive: true });
writeFileSync(join(root, 'proc/net/dev'), NET_DEV);
writeFileSync(join(root, 'proc/net/snmp'), SNMP);
for (const [name, speed, oper] of [['eth0', '25000', 'up'], ['ib0', null, 'down'], ['lo', null, 'unknown']] as const) {
  mkdirSync(join(root, 'sys/class/net', name), { recursive: true });
  if (speed) writeFileSync(join(root, 'sys/class/net', name, 'speed'), `${speed}\n`);
  writeFileSync(join(root, 'sys/class/net', name, 'operstate'), `${oper}\n`);
}

test('parsers', () => {
  assert.deepEqual(parseNetDev(NET_DEV).map((r) => r.iface), ['lo', 'eth0', 'vethab12cd', 'ib0']);
  assert.equal(parseTcpRetrans(SNMP), 321);
  assert.equal(parseTcpRetrans('Ip: a\nIp: 1\n'), undefined);
});

test('counters per interface, virtual ones filtered, speed and operstate from /sys, TCP retransmits', async () => {
  const c = createNetworkCollector({ node: 'n1' }, { intervalSeconds: 5, rootPath: root, excludeInterfacePattern: '^(lo|veth.*)$' });
  const s = (await c.collect(ctx())) as Sample[];
  assert.deepEqual([...new Set(s.filter((x) => x.labels.interface).map((x) => x.labels.interface))].sort(), ['eth0', 'ib0']);
  assert.equal(valueOf(s, 'surgeguard_network_receive_bytes_total', { interface: 'eth0' }), 9876543210);
  assert.equal(valueOf(s, 'surgeguard_network_receive_packets_total', { interface: 'eth0' }), 7654321);
  assert.equal(valueOf(s, 'surgeguard_network_receive_errors_total', { interface: 'eth0' }), 3);
  assert.equal(valueOf(s, 'surgeguard_network_receive_drops_total', { interface: 'eth0' }), 17);
  assert.equal(valueOf(s, 'surgeguard_network_transmit_bytes_total', { interface: 'eth0' }), 1234567890);
  assert.equal(valueOf(s, 'surgeguard_network_transmit_packets_total', { interface: 'eth0' }), 2345678);
  assert.equal(valueOf(s, 'surgeguard_network_transmit_errors_total', { interface: 'eth0' }), 1);
  assert.equal(valueOf(s, 'surgeguard_network_transmit_drops_total', { interface: 'eth0' }), 2);
  assert.equal(valueOf(s, 'surgeguard_network_speed_bytes', { interface: 'eth0' }), 25000 * 125000);
  assert.equal(valueOf(s, 'surgeguard_network_speed_bytes', { interface: 'ib0' }), undefined, 'no speed file: absent, not 0');
  assert.equal(valueOf(s, 'surgeguard_network_up', { interface: 'eth0' }), 1);
  assert.equal(valueOf(s, 'surgeguard_network_up', { interface: 'ib0' }), 0);
  assert.equal(valueOf(s, 'surgeguard_network_tcp_retransmitted_segments_total'), 321);
});

test('reads the real /proc of this machine', async () => {
  const c = createNetworkCollector({ node: 'n1' }, { intervalSeconds: 5, rootPath: '/', excludeInterfacePattern: '^$' });
  const s = (await c.collect(ctx())) as Sample[];
  assert.ok(valueOf(s, 'surgeguard_network_receive_bytes_total', { interface: 'lo' }) !== undefined);
});
