// File: daemon/cli_options.h
//
// pve-balancerd's command line (docs/daemon.md, "OPTIONS").
#ifndef PVEBAL_DAEMON_CLI_OPTIONS_H_
#define PVEBAL_DAEMON_CLI_OPTIONS_H_

#include "pvebal/error.h"

#include <string>
#include <vector>

namespace pvebal::balancerd {

struct cli_options {
    bool foreground = false;
    bool debug = false;
    bool help = false;
    bool version = false;
    std::string config = "/etc/pve/balancer.cfg";
    std::vector<std::string> cycle_command = {"/usr/share/pve-balancer/pve-balancer-cycle"};
    std::string status_dir = "/run/pve-balancerd";
    std::string cluster_status = "/etc/pve/balancer/daemon.json";
    std::string psi_dir = "/proc/pressure";
    std::string node_name; // empty: the host name up to the first dot
};

result<cli_options> parse_cli(const std::vector<std::string> &args);
std::string usage();

} // namespace pvebal::balancerd

#endif
