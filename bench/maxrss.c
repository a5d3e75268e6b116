/* Runs a command and prints its peak RSS in KiB (wait4's ru_maxrss). A small C parent, because
 * a forked child starts with its parent's high-water mark: from Python every command would
 * show Python's own size. usage: maxrss COMMAND [ARG...] (prints "<kib> <exit status>") */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) return 2;
    fprintf(stderr, "%ld %d\n", ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}
