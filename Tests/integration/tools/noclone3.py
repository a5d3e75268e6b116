#!/usr/bin/env python3
"""noclone3.py PROGRAM [ARGS...]: run PROGRAM with clone3(2) failing with ENOSYS (a seccomp
filter, as older Docker profiles and kernels before 5.3 have it), to test the fallback of
runtimes that use clone3. x86_64 only."""
import ctypes, os, struct, sys

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
AUDIT_ARCH_X86_64, NR_CLONE3, ENOSYS = 0xC000003E, 435, 38
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
LD_W_ABS, JEQ_K, RET_K = 0x20, 0x15, 0x06

def insn(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)

prog = b"".join([
    insn(LD_W_ABS, 0, 0, 4),                        # arch
    insn(JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
    insn(RET_K, 0, 0, RET_ALLOW),
    insn(LD_W_ABS, 0, 0, 0),                        # syscall number
    insn(JEQ_K, 0, 1, NR_CLONE3),
    insn(RET_K, 0, 0, RET_ERRNO | ENOSYS),
    insn(RET_K, 0, 0, RET_ALLOW),
])
buf = ctypes.create_string_buffer(prog)
class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fprog = SockFprog(len(prog) // 8, ctypes.addressof(buf))
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
   libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
    sys.exit("noclone3: cannot install the filter: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
