// pve-balancerd: the glue between the controller (controller.h) and the system: the qb_loop,
// the corosync services, the PSI watcher, signals, the pid file and systemd's readiness
// protocol. Exceptions are bugs here and end the process with a log line.
#include "cli_options.h"
#include "controller.h"
#include "cpg_service.h"
#include "files.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "psi_watcher.h"
#include "quorum_service.h"
#include "system_env.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <fcntl.h>
#include <functional>
#include <iostream>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace pvebal::balancerd;

namespace {

millis wall_now() {
    struct timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<millis>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string host_node_name() {
    struct utsname u {};
    if (uname(&u) != 0) {
        return "localhost";
    }
    std::string n = u.nodename;
    return n.substr(0, n.find('.'));
}

// Forks into the background. The parent waits until the child reports readiness (one 0 byte on
// the pipe) and exits 0, or with the child's exit status when it fails before that. Returns the
// pipe's write end in the child.
int daemonize() {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        std::perror("pve-balancerd: pipe");
        std::exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        std::perror("pve-balancerd: fork");
        std::exit(1);
    }
    if (pid > 0) {
        close(p[1]);
        char c = 1;
        ssize_t n = read(p[0], &c, 1);
        if (n == 1 && c == 0) {
            std::exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        std::exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
    }
    close(p[0]);
    setsid();
    umask(022);
    if (chdir("/") != 0) {
        // not fatal
    }
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2) {
            close(null);
        }
    }
    return p[1];
}

// The pid file in the status directory, locked for the daemon's lifetime: a second daemon on
// the same node would be a second member with the same node id.
int lock_pid_file(const std::string &path) {
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_message(log_level::error, "cannot open " + path + ": " + std::strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = {};
        ssize_t n = read(fd, buf, sizeof buf - 1);
        std::string other = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "?";
        other.erase(std::remove(other.begin(), other.end(), '\n'), other.end());
        log_message(log_level::error,
                    "another pve-balancerd is running (pid " + other + ", " + path + ")");
        close(fd);
        return -1;
    }
    std::string pid = std::to_string(getpid()) + "\n";
    if (ftruncate(fd, 0) != 0 || write(fd, pid.data(), pid.size()) < 0) {
        log_message(log_level::warning, "cannot write " + path + ": " + std::strerror(errno));
    }
    return fd;
}

int run(int argc, char **argv) {
    auto opts = parse_cli(std::vector<std::string>(argv + 1, argv + argc));
    if (!opts) {
        std::cerr << "pve-balancerd: " << opts.error().to_string() << "\n";
        return 2;
    }
    if (opts->help) {
        std::cout << usage();
        return 0;
    }
    if (opts->version) {
        std::cout << "pve-balancerd " << PVEBAL_VERSION << "\n";
        return 0;
    }
    std::string node = opts->node_name.empty() ? host_node_name() : opts->node_name;

    int ready_fd = -1;
    if (!opts->foreground) {
        ready_fd = daemonize();
    }
    log_setup("pve-balancerd", {.to_stderr = opts->foreground && !stderr_is_journal(),
                                .to_syslog = true,
                                .debug = opts->debug});
    std::signal(SIGPIPE, SIG_IGN);

    if (auto r = make_dirs(opts->status_dir); !r) {
        log_message(log_level::error, "status directory: " + r.error().to_string());
        return 1;
    }
    std::string pid_path = opts->status_dir + "/pve-balancerd.pid";
    unique_fd pid_fd(lock_pid_file(pid_path)); // the lock lasts as long as the descriptor
    if (!pid_fd) {
        return 1;
    }
    std::string status_path = opts->status_dir + "/status.json";

    event_loop loop;
    controller *ctl = nullptr;
    std::function<void()> after; // after every event: re-arm the one timer, or end the loop
    timer tick(loop, [&] {
        ctl->on_timer(wall_now());
        after();
    });
    after = [&] {
        if (ctl->shutting_down() && ctl->child_idle()) {
            loop.stop();
            return;
        }
        if (auto d = ctl->next_deadline()) {
            // A floor, so that a deadline that stays in the past cannot spin the loop.
            tick.arm_in(std::max<millis>(*d - wall_now(), 20));
        } else {
            tick.cancel();
        }
    };

    psi_watcher psi(loop, opts->psi_dir, [&](psi_resource r) {
        ctl->on_pressure_trigger(r, wall_now());
        after();
    });
    cpg_service cpg(loop,
                    cpg_hooks{
                        .joined =
                            [&](member_id self) {
                                ctl->on_cpg_joined(self, wall_now());
                                after();
                            },
                        .members =
                            [&](const std::vector<member_id> &m, const std::vector<member_id> &j,
                                const std::vector<member_id> &l) {
                                ctl->on_cpg_members(m, j, l, wall_now());
                                after();
                            },
                        .lost =
                            [&] {
                                ctl->on_cpg_lost(wall_now());
                                after();
                            },
                        .deliver =
                            [&](member_id from, std::string_view bytes) {
                                ctl->on_deliver(from, bytes, wall_now());
                                after();
                            },
                    });
    quorum_service quorum(loop, quorum_hooks{
                                    .changed =
                                        [&](bool q) {
                                            ctl->on_quorum(q, wall_now());
                                            after();
                                        },
                                    .lost =
                                        [&] {
                                            ctl->on_quorum_lost(wall_now());
                                            after();
                                        },
                                });
    system_env env({.config = opts->config,
                    .local_status = status_path,
                    .cluster_status = opts->cluster_status},
                   cpg, quorum, psi);
    controller c(env,
                 {.node = node,
                  .pid = static_cast<std::uint32_t>(getpid()),
                  .version = PVEBAL_VERSION,
                  .cycle_command = opts->cycle_command,
                  .config_file = opts->config},
                 wall_now());
    ctl = &c;

    auto stop = [&] {
        if (c.shutting_down()) {
            log_message(log_level::warning, "second stop signal: exiting now");
            loop.stop();
            return;
        }
        sd_notify_send("STOPPING=1");
        c.begin_shutdown(wall_now());
        cpg.leave(); // the other members elect a new active node at once
        c.on_cpg_lost(wall_now());
        quorum.stop();
        c.on_quorum_lost(wall_now());
        after();
    };
    loop.on_signal(SIGTERM, stop);
    loop.on_signal(SIGINT, stop);
    loop.on_signal(SIGHUP, [&] {
        log_message(log_level::info, "SIGHUP: re-reading the configuration");
        c.on_reload(wall_now());
        after();
    });
    loop.on_signal(SIGUSR1, [&] {
        c.on_pressure_poke(wall_now());
        after();
    });
    loop.on_signal(SIGCHLD, [&] {
        int status = 0;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            c.on_child_exit(pid, status, wall_now());
        }
        after();
    });

    log_message(log_level::notice,
                "starting pve-balancerd " + std::string(PVEBAL_VERSION) + " on node " + node);
    c.start(wall_now());
    cpg.start();
    quorum.start();
    after();

    sd_notify_send("READY=1");
    if (ready_fd >= 0) {
        char zero = 0;
        ssize_t ignored = write(ready_fd, &zero, 1);
        (void)ignored;
        close(ready_fd);
    }

    loop.run();

    cpg.stop();
    quorum.stop();
    psi.disarm();
    unlink(status_path.c_str()); // a status file of a stopped daemon would mislead
    unlink(pid_path.c_str());
    pid_fd.reset();
    log_message(log_level::notice, "pve-balancerd stopped");
    log_shutdown();
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception &e) {
        log_message(log_level::error, std::string("fatal: ") + e.what());
        std::cerr << "pve-balancerd: fatal: " << e.what() << "\n";
        return 1;
    }
}
