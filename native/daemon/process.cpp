#include "process.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/close_range.h>
#include <map>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace pvebal::balancerd {

namespace {

// Marks every descriptor from 3 up close-on-exec (the corosync IPC sockets, the pid-file lock).
void cloexec_from_3() {
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) {
        return;
    }
    long max = ::sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) {
        max = 65536;
    }
    for (int fd = 3; fd < max; ++fd) {
        int flags = ::fcntl(fd, F_GETFD);
        if (flags >= 0) {
            ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
        }
    }
}

} // namespace

result<pid_t> spawn_process(const spawn_spec &spec) {
    if (spec.argv.empty()) {
        return fail("", "no command");
    }
    // Everything the child needs is built before fork: after it, only async-signal-safe calls.
    std::map<std::string, std::string> env;
    for (char **e = environ; e && *e; ++e) {
        std::string kv(*e);
        auto eq = kv.find('=');
        if (eq != std::string::npos) {
            env[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
    }
    for (const auto &[k, v] : spec.env) {
        env[k] = v;
    }
    std::vector<std::string> env_strings;
    for (const auto &[k, v] : env) {
        env_strings.push_back(k + "=" + v);
    }
    std::vector<char *> envp;
    for (auto &s : env_strings) {
        envp.push_back(s.data());
    }
    envp.push_back(nullptr);
    std::vector<std::string> args = spec.argv;
    std::vector<char *> argv;
    for (auto &a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);

    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) {
        return fail("", std::string("pipe2: ") + std::strerror(errno));
    }
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        int err = errno;
        ::close(pipefd[0]);
        ::close(pipefd[1]);
        return fail("", std::string("fork: ") + std::strerror(err));
    }
    if (pid == 0) {
        ::close(pipefd[0]);
        // The daemon's handlers (qb_loop's) would write into the daemon's signal pipe: reset
        // them before a signal can arrive, then unblock everything.
        for (int sig = 1; sig < NSIG; ++sig) {
            if (sig != SIGKILL && sig != SIGSTOP) {
                ::signal(sig, SIG_DFL);
            }
        }
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) {
            ::_exit(127); // the daemon died before we could ask to be told
        }
        int null = ::open("/dev/null", O_RDONLY);
        if (null >= 0) {
            ::dup2(null, 0);
            if (null != 0) {
                ::close(null);
            }
        }
        if (::chdir("/") != 0) {
            // not fatal: the command does not depend on its working directory
        }
        cloexec_from_3();
        ::execve(argv[0], argv.data(), envp.data());
        int err = errno;
        ssize_t ignored = ::write(pipefd[1], &err, sizeof err);
        (void)ignored;
        ::_exit(127);
    }
    ::close(pipefd[1]);
    ::setpgid(pid, pid); // also here, so a signal to the group right after fork finds it
    int err = 0;
    ssize_t n;
    do {
        n = ::read(pipefd[0], &err, sizeof err);
    } while (n < 0 && errno == EINTR);
    ::close(pipefd[0]);
    if (n == static_cast<ssize_t>(sizeof err)) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return fail("", "cannot execute " + spec.argv[0] + ": " + std::strerror(err));
    }
    return pid;
}

void signal_process(pid_t pid, int sig, bool group) {
    if (pid <= 0) {
        return;
    }
    if (group && ::kill(-pid, sig) == 0) {
        return;
    }
    ::kill(pid, sig);
}

} // namespace pvebal::balancerd
