/* Runs a command; prints its wall time and peak RSS as "<ns> <maxrss KiB> <exit status>" on the
 * last line of stderr (after the command's own output).
 *
 * Time: CLOCK_MONOTONIC from just before vfork to wait4's return, so the cost of starting a
 * process from Python is not in the numbers (it was 0.3-0.6 ms, a third of `state`).
 * RSS: wait4's ru_maxrss, which covers the command and every child it waited for. A small
 * static launcher, because exec counts the RSS of the mm it replaces: from Python every
 * command would show Python's own size. usage: maxrss COMMAND [ARG...] */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = vfork();
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) return 2;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    fprintf(stderr, "\n%lld %ld %d\n", ns, ru.ru_maxrss,
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}
