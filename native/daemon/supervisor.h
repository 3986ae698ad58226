// File: daemon/supervisor.h
//
// The cycle child process: at most one at a time, started with the cycle's environment, told
// to stop with SIGTERM (cancel: finish and record the migrations in flight, start nothing new),
// killed with SIGKILL when it has not exited `grace` after that, and stopped the same way when
// it runs longer than `timeout`. A state machine over an injected `process_ops`, so tests drive
// it with a fake process table and a fake clock.
//
//   supervisor sup(ops);
//   sup.start(request, now);                 // idle -> running
//   sup.stop(stop_reason::leadership_lost, now); // running -> stopping (SIGTERM)
//   sup.tick(now + grace);                   // stopping -> killing (SIGKILL)
//   auto rec = sup.on_exit(pid, status, now);   // -> idle, the finished cycle_record
#ifndef PVEBAL_DAEMON_SUPERVISOR_H_
#define PVEBAL_DAEMON_SUPERVISOR_H_

#include "cycle.h"
#include "types.h"

#include "pvebal/error.h"

#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace pvebal::balancerd {

struct spawn_spec {
    std::vector<std::string> argv;
    std::vector<std::pair<std::string, std::string>> env; // added to the daemon's environment
};

// The operating system as the supervisor needs it.
class process_ops {
public:
    virtual ~process_ops() = default;
    // Starts the command; the error says why it could not (exec failure included).
    virtual result<pid_t> spawn(const spawn_spec &spec) = 0;
    // Sends `sig` to the process (SIGTERM) or to its process group (SIGKILL: the cycle's own
    // helpers go with it; migration tasks run in their own sessions and are not touched).
    virtual void signal(pid_t pid, int sig, bool group) = 0;
};

enum class child_state : std::uint8_t { idle, running, stopping, killing };
std::string_view to_string(child_state s);

struct supervisor_config {
    millis timeout = 6 * 3600 * one_second;
    millis grace = 300 * one_second;
};

class supervisor {
public:
    explicit supervisor(process_ops &ops) : ops_(ops) {}

    void configure(const supervisor_config &c) { cfg_ = c; }

    // Starts a cycle for `rec` (id, node, triggers, detail filled in). Returns the record as
    // started; when the command cannot be started, the record is already finished
    // (spawn_failed) and the supervisor stays idle.
    cycle_record start(cycle_record rec, const spawn_spec &spec, millis now);

    // Tells the running cycle to stop (SIGTERM). No effect when idle or already stopping.
    void stop(stop_reason why, millis now);

    // Timeouts: running past `timeout` -> stop; stopping past `grace` -> SIGKILL.
    void tick(millis now);

    // A child exited (waitpid status). Returns the finished record when it was ours.
    std::optional<cycle_record> on_exit(pid_t pid, int wait_status, millis now);

    std::optional<millis> deadline() const;
    child_state state() const { return state_; }
    pid_t pid() const { return pid_; }
    // The running cycle (when not idle).
    const std::optional<cycle_record> &current() const { return current_; }
    // When the running cycle is killed at the latest (start + timeout, or SIGTERM + grace).
    std::optional<millis> kill_deadline() const;

private:
    process_ops &ops_;
    supervisor_config cfg_;
    child_state state_ = child_state::idle;
    pid_t pid_ = 0;
    std::optional<cycle_record> current_;
    millis stop_sent_ = 0;
    stop_reason why_ = stop_reason::none;
};

} // namespace pvebal::balancerd

#endif
