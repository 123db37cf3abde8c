import { readFileSync } from 'node:fs';

/** What the kernel's socket tables say about one socket. */
export interface SocketInfo {
  /** `tcp`, `tcp6`, `udp`, `udp6` or `unix`. */
  readonly protocol: string;
  /** Local address (`127.0.0.1:8080`, `[::1]:8080`, a unix path, `@abstract`), or null. */
  readonly local: string | null;
  /** Peer address for a connected inet socket, or null. */
  readonly remote: string | null;
  /** `LISTEN`, `ESTABLISHED`, `CONNECTED`, … */
  readonly state: string;
}

const TCP_STATES: Readonly<Record<number, string>> = {
  1: 'ESTABLISHED',
  2: 'SYN_SENT',
  3: 'SYN_RECV',
  4: 'FIN_WAIT1',
  5: 'FIN_WAIT2',
  6: 'TIME_WAIT',
  7: 'CLOSE',
  8: 'CLOSE_WAIT',
  9: 'LAST_ACK',
  10: 'LISTEN',
  11: 'CLOSING',
};

/** `0100007F` (a 32-bit word in host order, little-endian here) → `127.0.0.1`. */
function ipv4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.');
}

/** 32 hex digits, four host-order words → the compressed IPv6 text (`::1`, `::ffff:127.0.0.1`). */
function ipv6(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
    return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // The longest run of zero groups (two or more) becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hexes = groups.map((g) => g.toString(16));
  if (best < 0) return hexes.join(':');
  return `${hexes.slice(0, best).join(':')}::${hexes.slice(best + bestLen).join(':')}`;
}

function inetAddress(field: string, v6: boolean): string {
  const [host = '', port = ''] = field.split(':');
  const address = v6 ? `[${ipv6(host)}]` : ipv4(host);
  return `${address}:${parseInt(port, 16)}`;
}

function readTable(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(1);
  } catch {
    return []; // no IPv6, or the namespace went away: nothing known about these sockets
  }
}

/**
 * The sockets in the network namespace of `pid`, by inode: /proc/PID/net/{tcp,tcp6,udp,udp6,unix}.
 * A socket whose inode is in none of them (netlink, raw, packet…) is simply absent.
 */
export function readSocketTable(procRoot: string, pid: number): Map<number, SocketInfo> {
  const sockets = new Map<number, SocketInfo>();
  for (const protocol of ['tcp', 'tcp6', 'udp', 'udp6']) {
    const v6 = protocol.endsWith('6');
    const udp = protocol.startsWith('udp');
    for (const line of readTable(`${procRoot}/${pid}/net/${protocol}`)) {
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode …
      const f = line.trim().split(/\s+/);
      const inode = Number(f[9]);
      if (f.length < 10 || !Number.isSafeInteger(inode) || inode === 0) continue;
      const st = parseInt(f[3] ?? '', 16);
      const remote = inetAddress(f[2] ?? '', v6);
      const unconnected = /^(0\.0\.0\.0|\[::\]):0$/.test(remote);
      // UDP has no states; the kernel reuses TCP's numbers: 7 (CLOSE) is an unconnected socket.
      const state = udp ? (unconnected ? 'UNCONNECTED' : 'CONNECTED') : (TCP_STATES[st] ?? `state ${st}`);
      sockets.set(inode, { protocol, local: inetAddress(f[1] ?? '', v6), remote: unconnected ? null : remote, state });
    }
  }
  for (const line of readTable(`${procRoot}/${pid}/net/unix`)) {
    // Num RefCount Protocol Flags Type St Inode [Path]
    const f = line.trim().split(/\s+/);
    const inode = Number(f[6]);
    if (f.length < 7 || !Number.isSafeInteger(inode)) continue;
    const flags = parseInt(f[3] ?? '0', 16);
    const type = parseInt(f[4] ?? '0', 16);
    const st = parseInt(f[5] ?? '0', 16);
    const listening = (flags & 0x10000) !== 0; // __SO_ACCEPTCON
    const kind = type === 1 ? 'stream' : type === 2 ? 'dgram' : type === 5 ? 'seqpacket' : `type ${type}`;
    const state = listening ? 'LISTEN' : st === 3 ? 'CONNECTED' : 'UNCONNECTED';
    const path = f.slice(7).join(' ');
    sockets.set(inode, { protocol: `unix/${kind}`, local: path === '' ? null : path, remote: null, state });
  }
  return sockets;
}

/** One line for a table: `tcp 127.0.0.1:8080 LISTEN`, `tcp 127.0.0.1:5000 -> 127.0.0.1:8080 ESTABLISHED`. */
export function describeSocket(s: SocketInfo): string {
  const where = s.remote === null ? (s.local ?? '') : `${s.local ?? '?'} -> ${s.remote}`;
  return [s.protocol, where, s.state].filter((p) => p !== '').join(' ');
}
