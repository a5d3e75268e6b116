import Glibc
import LinuxSys
import OCISpec
import Runtime

// skiff: a runc-compatible OCI runtime. Global flags come before the command.
Log.markStart()
signal(SIGPIPE, SIG_IGN)
Fault.prepare()
exit(CLI.main(Array(CommandLine.arguments.dropFirst())))
