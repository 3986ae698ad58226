// File: daemon/environment.h
//
// Everything impure the daemon's logic touches, behind one façade (as PVE::HA::Env is for the HA
// manager): logging, the corosync group, the configuration file, node pressure, the cycle child
// and the status files. `system_env` (system_env.h) is the real one; the unit tests use a fake.
// Time is not here: every event carries `now`.
#ifndef PVEBAL_DAEMON_ENVIRONMENT_H_
#define PVEBAL_DAEMON_ENVIRONMENT_H_

#include "psi.h"
#include "supervisor.h"
#include "types.h"

#include "pvebal/error.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace pvebal::balancerd {

// What stat(2) says about the configuration file; a change of any field means "read it again".
struct file_stamp {
    std::int64_t mtime_ns = 0;
    std::uint64_t size = 0;
    std::uint64_t inode = 0;
    bool operator==(const file_stamp &) const = default;
};

class environment : public process_ops {
public:
    virtual void log(log_level level, const std::string &message) = 0;

    // CPG multicast to the group (agreed order, delivered to the sender too). Messages that
    // cannot be sent now are queued by the transport; false when not joined.
    virtual bool send(const std::string &bytes) = 0;
    // Synchronous quorum_getquorate(); nullopt when the query fails.
    virtual std::optional<bool> quorate_now() = 0;

    // The configuration file: nullopt when it does not exist.
    virtual std::optional<file_stamp> stat_config() = 0;
    // Its text; nullopt when it does not exist; an error when it cannot be read.
    virtual result<std::optional<std::string>> read_config() = 0;

    // (Re-)arms the PSI watcher: kernel triggers where permitted, else periodic reads. Returns
    // the mode in effect (off when PSI is not available).
    virtual psi_mode arm_pressure(const std::array<unsigned, 3> &threshold, unsigned window_s) = 0;
    virtual void disarm_pressure() = 0;
    virtual psi_reading read_pressure() = 0;

    // Local status (/run/pve-balancerd/status.json), written atomically.
    virtual result<void> write_local_status(const std::string &json) = 0;
    // Cluster summary (/etc/pve/balancer/daemon.json), written atomically.
    virtual result<void> write_cluster_status(const std::string &json) = 0;
    virtual std::optional<std::string> read_cluster_status() = 0;

    // systemd's STATUS= line (no-op when not started by systemd).
    virtual void notify_status(const std::string &) {}
};

} // namespace pvebal::balancerd

#endif
