#!/usr/bin/env python3
"""The CPython side of test/cpython-differential.test.ts: the oracle.

Reads {"root": dir, "sequences": [...]} as JSON from stdin, runs every sequence through CPython's `os`
(descriptor level) or `io.open` (io level) in a fresh directory under `root`, and writes one JSON array
to stdout of results, one entry per sequence: {"steps": [result per op], "files": {name: hex or null}}.
A result is {"v": value} or {"e": code}; bytes are hex strings, text is a JSON string.

The format of sequences is defined by test/support/cpython-sequences.ts (the generator); both sides
interpret the same ops. One process runs a whole batch: starting python3 costs more than a sequence.
"""
import errno
import io
import json
import os
import sys

FLAGS = {
    'r': os.O_RDONLY,
    'r+': os.O_RDWR,
    'w': os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    'w+': os.O_RDWR | os.O_CREAT | os.O_TRUNC,
    'a': os.O_WRONLY | os.O_CREAT | os.O_APPEND,
    'a+': os.O_RDWR | os.O_CREAT | os.O_APPEND,
    'x': os.O_WRONLY | os.O_CREAT | os.O_EXCL,
    'x+': os.O_RDWR | os.O_CREAT | os.O_EXCL,
    'r-append': os.O_RDONLY | os.O_APPEND,
}

# A text tell() that packs decoder state into the cookie is at least this big (CPython's
# TextIOWrapper puts dec_flags, bytes_to_feed… above the first 64 bits). Reported as opaque.
COOKIE_STATE = 1 << 64


def code_of(exc):
    """The error code a Python exception stands for; the mapping is documented in docs/design.md."""
    if isinstance(exc, UnicodeError):
        return 'EILSEQ'
    if isinstance(exc, io.UnsupportedOperation):
        # 'not readable', 'File not open for writing', 'write' (a method the buffered class lacks):
        # the file was not opened for it. "can't do nonzero cur-relative seeks": a bad argument.
        return 'EINVAL' if 'seek' in str(exc) else 'EBADF'
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    if isinstance(exc, ValueError):
        return 'EBADF' if 'closed file' in str(exc) else 'EINVAL'
    return type(exc).__name__


# How many consecutive free numbers a sequence needs above its base (it makes at most ~45 descriptors).
WINDOW = 64


def plug():
    """Finds the lowest number with WINDOW free numbers from it on (the base) and fills every free number
    below it, so that the numbers a sequence gets are base, base+1, ... exactly as in the fdkeeper
    process (which does the same). Returns the base and the plugs to close afterwards."""
    used = set(int(n) for n in os.listdir('/proc/self/fd'))
    base = 0
    while any(n in used for n in range(base, base + WINDOW)):
        base += 1
    plugs = []
    while True:
        fd = os.open('/dev/null', os.O_RDONLY)
        if fd >= base:
            os.close(fd)
            return base, plugs
        plugs.append(fd)


def run_os(seq, d, base):
    fds = []  # handle index -> absolute number (-1: the open failed)
    steps = []

    def fd(h):
        return fds[h]

    def made(call, *args):
        """A call that makes a descriptor: its handle is the number (-1 when it failed), the result
        the number relative to the base."""
        try:
            n = call(*args)
        except OSError:
            fds.append(-1)
            raise
        fds.append(n)
        return n - base

    for op in seq['ops']:
        kind = op[0]
        try:
            if kind == 'open':
                v = made(os.open, os.path.join(d, op[1]), FLAGS[op[2]], 0o666)
            elif kind == 'close':
                v = os.close(fd(op[1]))
            elif kind == 'read':
                v = os.read(fd(op[1]), op[2]).hex()
            elif kind == 'write':
                v = os.write(fd(op[1]), bytes.fromhex(op[2]))
            elif kind == 'lseek':
                v = os.lseek(fd(op[1]), op[2], op[3])
            elif kind == 'pread':
                v = os.pread(fd(op[1]), op[2], op[3]).hex()
            elif kind == 'pwrite':
                v = os.pwrite(fd(op[1]), bytes.fromhex(op[2]), op[3])
            elif kind == 'ftruncate':
                v = os.ftruncate(fd(op[1]), op[2])
            elif kind == 'fstat':
                v = os.fstat(fd(op[1])).st_size
            elif kind == 'dup':
                v = made(os.dup, fd(op[1]))
            elif kind == 'dup2':
                v = made(os.dup2, fd(op[1]), fd(op[2]['h']) if 'h' in op[2] else base + op[2]['rel'])
            else:
                raise RuntimeError('unknown op ' + kind)
            steps.append({'v': v})
        except Exception as e:  # noqa: BLE001 - every failure is a result to compare
            steps.append({'e': code_of(e)})
    for n in fds:  # whatever the sequence left open (its own close ops ran first)
        if n >= 0:
            try:
                os.close(n)
            except OSError:
                pass
    return steps


def strict_read(f, kind, n):
    """Normalization N6: a strict text read that fails with a decode error leaves CPython's position
    wherever its read-ahead got to (the decoder consumed the chunk). fdkeeper's contract is that a failed
    read consumes nothing, so the position from before the call is restored here."""
    try:
        before = f.tell() if not f.closed and f.readable() else None
    except (OSError, ValueError):
        before = None
    try:
        return f.read(n) if kind == 'read' else f.readline(n)
    except UnicodeError:
        if before is not None:
            f.seek(before)
        raise


def run_io(seq, d):
    files = []  # handle index -> file object, or None (the open failed)
    steps = []
    for op in seq['ops']:
        kind = op[0]
        try:
            if kind == 'ioopen':
                _, name, mode, opts = op
                kw = {}
                if 'buffering' in opts:
                    kw['buffering'] = opts['buffering']
                if 'b' not in mode:
                    kw['encoding'] = opts.get('encoding', 'utf-8')
                    # Normalization N1 (docs/design.md): fdkeeper's default errors is 'replace'.
                    kw['errors'] = opts.get('errors', 'replace')
                    if 'newline' in opts:
                        kw['newline'] = opts['newline']
                if kw.get('buffering') == 0 and 'b' not in mode:
                    # Normalization N3: CPython creates (or truncates) the file before it refuses
                    # unbuffered text; fdkeeper validates first and opens nothing.
                    files.append(None)
                    raise ValueError("can't have unbuffered text I/O")
                try:
                    f = io.open(os.path.join(d, name), mode, **kw)
                except Exception:
                    files.append(None)
                    raise
                files.append(f)
                v = None
            else:
                f = files[op[1]]
                if f is None:
                    steps.append({'e': 'NOHANDLE'})
                    continue
                binary = 'b' in f.mode
                if kind in ('read', 'readline') and not binary and f.errors == 'strict':
                    v = strict_read(f, kind, op[2])
                elif kind == 'read':
                    r = f.read(op[2])
                    v = r.hex() if binary else r
                elif kind == 'readline':
                    if op[2] == 0 and binary and (f.closed or not f.readable()):
                        # Normalization N4: IOBase.readline(0) returns b'' without checking that the
                        # file is open and readable; fdkeeper (and CPython's TextIOWrapper) refuse.
                        if f.closed:
                            raise ValueError('I/O operation on closed file.')
                        raise io.UnsupportedOperation('not readable')
                    r = f.readline(op[2])
                    v = r.hex() if binary else r
                elif kind == 'write':
                    v = f.write(bytes.fromhex(op[2]) if binary else op[2])
                elif kind == 'seek':
                    v = f.seek(op[2], op[3])
                    if not binary and v >= COOKIE_STATE:
                        v = 'opaque-cookie'  # Normalization N2 (text seek(0, 1) is tell())
                elif kind == 'tell':
                    v = f.tell()
                    if not binary and v >= COOKIE_STATE:
                        v = 'opaque-cookie'  # Normalization N2
                elif kind == 'seektell':
                    v = f.seek(f.tell())
                    if not binary and v >= COOKIE_STATE:
                        v = 'opaque-cookie'  # Normalization N2
                elif kind == 'truncate':
                    v = f.truncate(op[2])
                elif kind == 'flush':
                    v = f.flush()
                elif kind == 'close':
                    v = f.close()
                else:
                    raise RuntimeError('unknown op ' + kind)
            steps.append({'v': v})
        except Exception as e:  # noqa: BLE001
            steps.append({'e': code_of(e)})
    for f in files:
        if f is not None:
            try:
                f.close()
            except Exception:  # noqa: BLE001
                pass
    return steps


def contents(d, names):
    out = {}
    for name in names:
        try:
            with open(os.path.join(d, name), 'rb') as f:
                out[name] = f.read().hex()
        except FileNotFoundError:
            out[name] = None
    return out


def main():
    batch = json.load(sys.stdin)
    root = batch['root']
    results = []
    for i, seq in enumerate(batch['sequences']):
        d = os.path.join(root, 's%d' % i)
        os.mkdir(d)
        for name, data in seq['init'].items():
            with open(os.path.join(d, name), 'wb') as f:
                f.write(bytes.fromhex(data))
        base, plugs = plug()
        try:
            steps = run_os(seq, d, base) if seq['level'] == 'os' else run_io(seq, d)
        finally:
            for p in plugs:
                os.close(p)
        results.append({'steps': steps, 'files': contents(d, seq['files'])})
    json.dump(results, sys.stdout)


if __name__ == '__main__':
    main()
