#!/usr/bin/env python3
"""A --console-socket receiver, as containerd's shim and conmon are: listens on a unix socket,
receives the pty master (SCM_RIGHTS), then copies the terminal's output to OUTFILE and types
INPUT (if given) into it. Exits when the terminal closes (the container's processes are gone).

usage: recvtty.py SOCKET OUTFILE [INPUT]
"""
import os, select, socket, sys

path, out = sys.argv[1], sys.argv[2]
typed = sys.argv[3].encode().decode("unicode_escape").encode() if len(sys.argv) > 3 else b""
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
with open(out + ".ready", "w"):
    pass
conn, _ = srv.accept()
msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
conn.close()
srv.close()
if not fds:
    sys.exit("no fd received")
master = fds[0]
with open(out + ".name", "w") as f:
    f.write(msg.decode(errors="replace"))
if typed:
    os.write(master, typed)
with open(out, "ab", buffering=0) as f:
    while True:
        r, _, _ = select.select([master], [], [], 30)
        if not r:
            break
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        f.write(data)
