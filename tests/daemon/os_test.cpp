// The Linux side without corosync: starting and signalling real processes, atomic files, the
// command line, and the PSI watcher on plain files (poll mode) and on /proc/pressure.
#include "cli_options.h"
#include "files.h"
#include "loop.h"
#include "process.h"
#include "psi_watcher.h"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace pvebal::balancerd;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
    fs::path path;
    temp_dir() {
        char tmpl[] = "/tmp/pvebald-test.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~temp_dir() { fs::remove_all(path); }
};

int wait_for(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
}

// Processes of process group `pgid` that are not zombies.
int live_in_group(pid_t pgid) {
    int n = 0;
    for (const auto &e : fs::directory_iterator("/proc")) {
        auto name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream in(e.path() / "stat");
        std::string line;
        std::getline(in, line);
        auto close = line.rfind(')');
        if (close == std::string::npos) {
            continue;
        }
        std::istringstream rest(line.substr(close + 2));
        char state = 0;
        long ppid = 0, pgrp = 0;
        rest >> state >> ppid >> pgrp;
        if (pgrp == pgid && state != 'Z') {
            ++n;
        }
    }
    return n;
}

std::string slurp(const fs::path &p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

BOOST_AUTO_TEST_SUITE(os)

BOOST_AUTO_TEST_CASE(spawn_runs_the_command_with_the_cycle_environment) {
    temp_dir d;
    auto out = d.path / "out";
    auto pid =
        spawn_process({{"/bin/sh", "-c",
                        "echo \"$PVE_BALANCER_TRIGGER $0\" > " + out.string() + "; exit 3", "arg0"},
                       {{"PVE_BALANCER_TRIGGER", "pressure"}}});
    BOOST_TEST_REQUIRE(pid.has_value());
    int status = wait_for(*pid);
    BOOST_TEST(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 3);
    BOOST_TEST(slurp(out) == "pressure arg0\n");
}

BOOST_AUTO_TEST_CASE(spawn_reports_an_exec_failure) {
    auto pid = spawn_process({{"/nonexistent/pve-balancer-cycle"}, {}});
    BOOST_TEST_REQUIRE(!pid.has_value());
    BOOST_TEST(pid.error().to_string() ==
               "cannot execute /nonexistent/pve-balancer-cycle: No such file or directory");
}

BOOST_AUTO_TEST_CASE(the_child_gets_no_inherited_descriptors_and_its_own_group) {
    temp_dir d;
    auto out = d.path / "out";
    int leak = ::dup2(::open("/dev/null", O_RDONLY), 77); // not close-on-exec
    auto pid = spawn_process(
        {{"/bin/sh", "-c",
          "ls /proc/self/fd > " + out.string() + "; ps -o pgid= -p $$ >> " + out.string() +
              " 2>/dev/null || cat /proc/self/stat >> " + out.string()},
         {}});
    BOOST_TEST_REQUIRE(pid.has_value());
    wait_for(*pid);
    ::close(leak);
    auto text = slurp(out);
    // 0, 1, 2 and the fd of `ls` reading the directory; not our leaked descriptor.
    BOOST_TEST(text.find("\n" + std::to_string(leak) + "\n") == std::string::npos);
    BOOST_TEST(::getpgid(0) != *pid);
}

BOOST_AUTO_TEST_CASE(sigterm_to_the_child_and_sigkill_to_its_group) {
    temp_dir d;
    auto out = d.path / "out";
    // The child traps TERM (the cycle's "cancel") and records it; a grandchild sleeps.
    auto pid = spawn_process(
        {{"/bin/sh", "-c",
          "trap 'echo term >> " + out.string() + "' TERM; sleep 30 & while :; do wait; done"},
         {}});
    BOOST_TEST_REQUIRE(pid.has_value());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    signal_process(*pid, SIGTERM, false);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    BOOST_TEST(slurp(out) == "term\n");
    signal_process(*pid, SIGKILL, true);
    int status = wait_for(*pid);
    BOOST_TEST(WIFSIGNALED(status));
    BOOST_TEST(WTERMSIG(status) == SIGKILL);
    // The sleeping grandchild went with the group (it may linger as a zombie of init).
    int alive = 1;
    for (int i = 0; i < 40 && alive > 0; ++i) {
        alive = live_in_group(*pid);
        if (alive > 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    BOOST_TEST(alive == 0);
}

BOOST_AUTO_TEST_CASE(atomic_write_read_and_stat) {
    temp_dir d;
    auto path = (d.path / "sub" / "daemon.json").string();
    auto r = write_file_atomic(path, "{}\n", false);
    BOOST_TEST_REQUIRE(!r.has_value()); // no parent directory
    BOOST_TEST(r.error().to_string().find("No such file or directory") != std::string::npos);
    BOOST_TEST(write_file_atomic(path, "{\"a\":1}\n", true).has_value());
    auto text = read_file(path);
    BOOST_TEST_REQUIRE(text.has_value());
    BOOST_TEST(**text == "{\"a\":1}\n");
    auto st = stat_file(path);
    BOOST_TEST_REQUIRE(st.has_value());
    BOOST_TEST(st->size == 8u);
    BOOST_TEST(write_file_atomic(path, "{}\n", true).has_value());
    BOOST_TEST(stat_file(path)->size == 3u);
    // No temporary file is left behind.
    int files = 0;
    for (const auto &e : fs::directory_iterator(d.path / "sub")) {
        (void)e;
        ++files;
    }
    BOOST_TEST(files == 1);
    BOOST_TEST(!read_file((d.path / "absent").string())->has_value());
    BOOST_TEST(!stat_file((d.path / "absent").string()).has_value());
    BOOST_TEST(make_dirs((d.path / "a" / "b" / "c").string()).has_value());
    BOOST_TEST(fs::is_directory(d.path / "a" / "b" / "c"));
}

BOOST_AUTO_TEST_CASE(command_line) {
    auto o = parse_cli({"-f", "--config=/tmp/b.cfg", "--cycle-command", "/usr/bin/env true",
                        "--status-dir", "/tmp/st", "--psi-dir", "/tmp/psi", "--node-name", "n1",
                        "--cluster-status", "/tmp/d.json"});
    BOOST_TEST_REQUIRE(o.has_value());
    BOOST_TEST(o->foreground);
    BOOST_TEST(o->config == "/tmp/b.cfg");
    BOOST_TEST((o->cycle_command == std::vector<std::string>{"/usr/bin/env", "true"}));
    BOOST_TEST(o->status_dir == "/tmp/st");
    BOOST_TEST(o->psi_dir == "/tmp/psi");
    BOOST_TEST(o->node_name == "n1");
    BOOST_TEST(o->cluster_status == "/tmp/d.json");
    auto defaults = parse_cli({});
    BOOST_TEST(defaults->config == "/etc/pve/balancer.cfg");
    BOOST_TEST(defaults->psi_dir == "/proc/pressure");
    BOOST_TEST(parse_cli({"--bogus"}).error().to_string() ==
               "--bogus: unknown option (see --help)");
    BOOST_TEST(parse_cli({"--config"}).error().to_string() == "--config: expected a value");
    BOOST_TEST(parse_cli({"--cycle-command", "cycle"}).error().to_string() ==
               "--cycle-command: expected an absolute path (and arguments), got 'cycle'");
    BOOST_TEST(parse_cli({"--node-name", "a.b"}).error().to_string().find("--node-name") == 0u);
    BOOST_TEST(parse_cli({"--foreground=1"}).error().to_string() == "--foreground: takes no value");
}

BOOST_AUTO_TEST_CASE(psi_watcher_on_plain_files_is_poll_mode) {
    temp_dir d;
    std::ofstream(d.path / "cpu") << "some avg10=42.00 avg60=1.00 avg300=0.50 total=10\n";
    std::ofstream(d.path / "memory") << "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                                        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
    std::ofstream(d.path / "io") << "garbage\n";
    event_loop loop;
    psi_watcher w(loop, d.path.string(), [](psi_resource) {});
    BOOST_TEST((w.arm({20, 10, 30}, 10) == psi_mode::poll));
    BOOST_TEST(w.fallback_reason() == d.path.string() + " is not procfs");
    auto r = w.read();
    BOOST_TEST_REQUIRE(r[0].has_value());
    BOOST_TEST(r[0]->some.avg10 == 42.0);
    BOOST_TEST(r[1].has_value());
    BOOST_TEST(!r[2].has_value()); // unparsable: skipped
}

BOOST_AUTO_TEST_CASE(psi_watcher_without_files_is_off) {
    temp_dir d;
    event_loop loop;
    psi_watcher w(loop, (d.path / "none").string(), [](psi_resource) {});
    BOOST_TEST((w.arm({20, 10, 30}, 10) == psi_mode::off));
}

BOOST_AUTO_TEST_CASE(psi_watcher_arms_kernel_triggers_where_permitted) {
    if (::access("/proc/pressure/cpu", W_OK) != 0) {
        BOOST_TEST_MESSAGE("skipped: /proc/pressure/cpu is not writable here");
        return;
    }
    event_loop loop;
    psi_watcher w(loop, "/proc/pressure", [](psi_resource) {});
    auto mode = w.arm({20, 10, 30}, 2);
    // Trigger mode as root on a PSI kernel; a kernel that refuses says why.
    BOOST_TEST(((mode == psi_mode::trigger) || !w.fallback_reason().empty()), w.fallback_reason());
    auto r = w.read();
    BOOST_TEST(r[index_of(psi_resource::cpu)].has_value());
    w.disarm();
}

BOOST_AUTO_TEST_SUITE_END()
