#include "system_env.h"

#include "files.h"
#include "log.h"
#include "notify.h"
#include "process.h"

namespace pvebal::balancerd {

void system_env::log(log_level level, const std::string &message) {
    log_message(level, message);
}

std::optional<file_stamp> system_env::stat_config() {
    return stat_file(paths_.config);
}

result<std::optional<std::string>> system_env::read_config() {
    return read_file(paths_.config);
}

psi_mode system_env::arm_pressure(const std::array<unsigned, 3> &threshold, unsigned window_s) {
    auto mode = psi_.arm(threshold, window_s);
    if (mode != psi_mode::trigger && !psi_.fallback_reason().empty()) {
        log_message(mode == psi_mode::off ? log_level::warning : log_level::info,
                    "PSI triggers not in use (" + psi_.fallback_reason() + ")" +
                        (mode == psi_mode::poll ? "; reading the averages every 5 s" : ""));
    }
    return mode;
}

result<void> system_env::write_local_status(const std::string &json) {
    return write_file_atomic(paths_.local_status, json, false);
}

result<void> system_env::write_cluster_status(const std::string &json) {
    return write_file_atomic(paths_.cluster_status, json, true);
}

std::optional<std::string> system_env::read_cluster_status() {
    auto r = read_file(paths_.cluster_status);
    if (!r || !*r) {
        return std::nullopt;
    }
    return **r;
}

void system_env::notify_status(const std::string &status) {
    sd_notify_send("STATUS=" + status);
}

result<pid_t> system_env::spawn(const spawn_spec &spec) {
    return spawn_process(spec);
}

void system_env::signal(pid_t pid, int sig, bool group) {
    signal_process(pid, sig, group);
}

} // namespace pvebal::balancerd
