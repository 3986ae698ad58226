// A fake environment for the controller and the supervisor: scripted corosync answers, an
// in-memory configuration file and PSI files, a process table, captured status files and
// messages. Time is whatever the test passes in.
#ifndef PVEBAL_TESTS_DAEMON_FAKE_ENV_H_
#define PVEBAL_TESTS_DAEMON_FAKE_ENV_H_

#include "environment.h"
#include "messages.h"

#include <csignal>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pvebal::balancerd::test {

struct signal_sent {
    pid_t pid;
    int sig;
    bool group;
};

class fake_env : public environment {
public:
    // --- scripted answers
    bool joined = true;                     // send() succeeds
    std::optional<bool> quorate = true;     // quorate_now()
    std::optional<std::string> config_text; // nullopt: no file
    std::int64_t config_mtime = 1;
    psi_mode pressure_mode = psi_mode::poll; // what arm_pressure() grants
    psi_reading pressure{};
    bool spawn_fails = false;
    bool cluster_write_fails = false;
    std::optional<std::string> cluster_file;

    // --- what the code did
    std::vector<std::pair<log_level, std::string>> logs;
    std::vector<std::string> sent;
    std::vector<spawn_spec> spawned;
    std::vector<signal_sent> signals;
    std::vector<std::string> local_writes;
    std::vector<std::string> cluster_writes;
    int arms = 0;
    pid_t next_pid = 1000;

    void set_config(const std::string &text) {
        config_text = text;
        ++config_mtime;
    }
    void set_pressure(psi_resource r, double avg10) {
        psi_sample s;
        s.some.avg10 = avg10;
        pressure[index_of(r)] = s;
    }
    bool logged(const std::string &needle) const {
        for (const auto &[l, m] : logs) {
            if (m.find(needle) != std::string::npos) {
                return true;
            }
        }
        return false;
    }
    int count_logged(const std::string &needle) const {
        int n = 0;
        for (const auto &[l, m] : logs) {
            if (m.find(needle) != std::string::npos) {
                ++n;
            }
        }
        return n;
    }
    std::vector<message> sent_messages() const {
        std::vector<message> out;
        for (const auto &s : sent) {
            if (auto m = decode(s); m && *m) {
                out.push_back(**m);
            }
        }
        return out;
    }
    std::string env_of(std::size_t spawn, const std::string &key) const {
        for (const auto &[k, v] : spawned.at(spawn).env) {
            if (k == key) {
                return v;
            }
        }
        return "";
    }

    // --- environment
    void log(log_level level, const std::string &message) override {
        logs.emplace_back(level, message);
    }
    bool send(const std::string &bytes) override {
        if (!joined) {
            return false;
        }
        sent.push_back(bytes);
        return true;
    }
    std::optional<bool> quorate_now() override { return quorate; }
    std::optional<file_stamp> stat_config() override {
        if (!config_text) {
            return std::nullopt;
        }
        return file_stamp{config_mtime, config_text->size(), 1};
    }
    result<std::optional<std::string>> read_config() override { return config_text; }
    psi_mode arm_pressure(const std::array<unsigned, 3> &, unsigned) override {
        ++arms;
        return pressure_mode;
    }
    void disarm_pressure() override {}
    psi_reading read_pressure() override { return pressure; }
    result<void> write_local_status(const std::string &json) override {
        local_writes.push_back(json);
        return {};
    }
    result<void> write_cluster_status(const std::string &json) override {
        if (cluster_write_fails) {
            return fail("/etc/pve/balancer/daemon.json", "Permission denied");
        }
        cluster_writes.push_back(json);
        cluster_file = json;
        return {};
    }
    std::optional<std::string> read_cluster_status() override { return cluster_file; }
    result<pid_t> spawn(const spawn_spec &spec) override {
        spawned.push_back(spec);
        if (spawn_fails) {
            return fail("", "cannot execute " + spec.argv.at(0) + ": No such file or directory");
        }
        return next_pid++;
    }
    void signal(pid_t pid, int sig, bool group) override { signals.push_back({pid, sig, group}); }
};

} // namespace pvebal::balancerd::test

#endif
