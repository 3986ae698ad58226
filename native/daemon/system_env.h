// File: daemon/system_env.h
//
// The real environment: qb_log, the corosync services, the PSI watcher, fork/exec and files.
#ifndef PVEBAL_DAEMON_SYSTEM_ENV_H_
#define PVEBAL_DAEMON_SYSTEM_ENV_H_

#include "cpg_service.h"
#include "environment.h"
#include "psi_watcher.h"
#include "quorum_service.h"

#include <string>

namespace pvebal::balancerd {

struct system_paths {
    std::string config;
    std::string local_status; // <status-dir>/status.json
    std::string cluster_status;
};

class system_env : public environment {
public:
    system_env(system_paths paths, cpg_service &cpg, quorum_service &quorum, psi_watcher &psi)
        : paths_(std::move(paths)), cpg_(cpg), quorum_(quorum), psi_(psi) {}

    void log(log_level level, const std::string &message) override;
    bool send(const std::string &bytes) override { return cpg_.send(bytes); }
    std::optional<bool> quorate_now() override { return quorum_.quorate_now(); }
    std::optional<file_stamp> stat_config() override;
    result<std::optional<std::string>> read_config() override;
    psi_mode arm_pressure(const std::array<unsigned, 3> &threshold, unsigned window_s) override;
    void disarm_pressure() override { psi_.disarm(); }
    psi_reading read_pressure() override { return psi_.read(); }
    result<void> write_local_status(const std::string &json) override;
    result<void> write_cluster_status(const std::string &json) override;
    std::optional<std::string> read_cluster_status() override;
    void notify_status(const std::string &status) override;
    result<pid_t> spawn(const spawn_spec &spec) override;
    void signal(pid_t pid, int sig, bool group) override;

private:
    system_paths paths_;
    cpg_service &cpg_;
    quorum_service &quorum_;
    psi_watcher &psi_;
};

} // namespace pvebal::balancerd

#endif
