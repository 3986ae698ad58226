#include "cli_options.h"

#include <sstream>

namespace pvebal::balancerd {

namespace {

std::vector<std::string> split_words(const std::string &s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string w;
    while (in >> w) {
        out.push_back(w);
    }
    return out;
}

bool valid_node_name(const std::string &n) {
    if (n.empty() || n.size() > 63) {
        return false;
    }
    for (char c : n) {
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

} // namespace

std::string usage() {
    return "Usage: pve-balancerd [OPTIONS]\n"
           "\n"
           "The pve-balancer daemon: joins the corosync CPG group 'pve-balancer', and on the\n"
           "one active node of the quorate partition runs balancing cycles on a timer, on node\n"
           "pressure and on configuration changes (see pve-balancerd(8)).\n"
           "\n"
           "Options:\n"
           "  -f, --foreground         stay in the foreground; also log to stderr\n"
           "      --config FILE        balancer configuration (default /etc/pve/balancer.cfg)\n"
           "      --cycle-command CMD  the cycle to run: an absolute path, then arguments\n"
           "                           (default /usr/share/pve-balancer/pve-balancer-cycle)\n"
           "      --status-dir DIR     local status and pid file (default /run/pve-balancerd)\n"
           "      --cluster-status FILE\n"
           "                           cluster summary written by the active node\n"
           "                           (default /etc/pve/balancer/daemon.json)\n"
           "      --psi-dir DIR        pressure files cpu, memory, io (default /proc/pressure)\n"
           "      --node-name NAME     this node's name (default: the host name)\n"
           "  -d, --debug              debug logging\n"
           "  -h, --help               this help\n"
           "      --version            the version\n"
           "\n"
           "Signals: SIGTERM/SIGINT stop (a running cycle gets SIGTERM first), SIGHUP re-reads\n"
           "the configuration, SIGUSR1 re-reads the pressure files.\n";
}

result<cli_options> parse_cli(const std::vector<std::string> &args) {
    cli_options o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string a = args[i];
        std::string value;
        bool has_value = false;
        if (a.rfind("--", 0) == 0) {
            if (auto eq = a.find('='); eq != std::string::npos) {
                value = a.substr(eq + 1);
                a = a.substr(0, eq);
                has_value = true;
            }
        }
        auto take = [&](const std::string &name) -> result<std::string> {
            if (has_value) {
                return value;
            }
            if (i + 1 >= args.size()) {
                return fail(name, "expected a value");
            }
            return args[++i];
        };
        auto flag = [&](bool &field) -> result<void> {
            if (has_value) {
                return fail(a, "takes no value");
            }
            field = true;
            return {};
        };
        result<void> ok;
        if (a == "-f" || a == "--foreground") {
            ok = flag(o.foreground);
        } else if (a == "-d" || a == "--debug") {
            ok = flag(o.debug);
        } else if (a == "-h" || a == "--help") {
            ok = flag(o.help);
        } else if (a == "--version") {
            ok = flag(o.version);
        } else if (a == "--config" || a == "--status-dir" || a == "--cluster-status" ||
                   a == "--psi-dir" || a == "--node-name" || a == "--cycle-command") {
            auto v = take(a);
            if (!v) {
                return std::unexpected(v.error());
            }
            if (v->empty()) {
                return fail(a, "expected a non-empty value");
            }
            if (a == "--config") {
                o.config = *v;
            } else if (a == "--status-dir") {
                o.status_dir = *v;
            } else if (a == "--cluster-status") {
                o.cluster_status = *v;
            } else if (a == "--psi-dir") {
                o.psi_dir = *v;
            } else if (a == "--node-name") {
                if (!valid_node_name(*v)) {
                    return fail(a, "expected a node name (letters, digits, '-'), got '" + *v + "'");
                }
                o.node_name = *v;
            } else {
                auto words = split_words(*v);
                if (words.empty() || words[0].empty() || words[0][0] != '/') {
                    return fail(a, "expected an absolute path (and arguments), got '" + *v + "'");
                }
                o.cycle_command = words;
            }
        } else {
            return fail(a, "unknown option (see --help)");
        }
        if (!ok) {
            return std::unexpected(ok.error());
        }
    }
    return o;
}

} // namespace pvebal::balancerd
