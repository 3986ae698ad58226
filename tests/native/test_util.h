// Test helpers: build snapshots as JSON (so every test also goes through the real reader).
#ifndef PVEBAL_TESTS_TEST_UTIL_H_
#define PVEBAL_TESTS_TEST_UTIL_H_

#include "constraints/registry.h"
#include "pvebal/io.h"

#include <boost/test/unit_test.hpp>
#include <json/json.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pvebal {

// Tests compare constraints by their stable names, as the JSON output shows them.
inline bool operator==(constraint k, std::string_view name) {
    return name == constraint_name(k);
}
inline std::ostream &operator<<(std::ostream &os, constraint k) {
    return os << constraint_name(k);
}
inline bool operator==(ha_request_state s, std::string_view name) {
    return name == ha_request_state_name(s);
}
inline std::ostream &operator<<(std::ostream &os, ha_request_state s) {
    return os << ha_request_state_name(s);
}

} // namespace pvebal

namespace pvebal::test {

// The registry's guest units for one guest, with a context of its own (tests only: planners
// build one context per decision).
inline std::vector<rejection> immovable_reasons(const cluster &c, const options &o, guest_id g) {
    const affinity_groups a = compile_affinity(c, o);
    const detail::decision_context ctx(c, o, a);
    return detail::immovable_reasons(ctx, g);
}

inline constexpr std::uint64_t GiB = 1024ull * 1024 * 1024;

// A number from the environment (tests/run-checks sets the property tests' sizes), or fallback.
inline std::uint32_t env_or(const char *name, std::uint32_t fallback) {
    const char *v = std::getenv(name);
    return v != nullptr ? static_cast<std::uint32_t>(std::strtoul(v, nullptr, 0)) : fallback;
}

class snapshot_builder {
public:
    snapshot_builder &node(const std::string &name, double maxcpu, std::uint64_t maxmem,
                           double cpu = 0, std::uint64_t mem = 0, bool online = true) {
        Json::Value n(Json::objectValue);
        n["type"] = "node";
        n["id"] = "node/" + name;
        n["node"] = name;
        n["status"] = online ? "online" : "offline";
        n["maxcpu"] = maxcpu;
        n["maxmem"] = static_cast<Json::UInt64>(maxmem);
        n["cpu"] = cpu;
        n["mem"] = static_cast<Json::UInt64>(mem);
        resources_.append(n);
        return *this;
    }
    // A guest; returns its entry so a test can add fields (tags, lock, template, hastate...).
    Json::Value &guest(std::uint32_t vmid, const std::string &node, double maxcpu,
                       std::uint64_t maxmem, double cpu, std::uint64_t mem,
                       const std::string &type = "qemu", const std::string &status = "running") {
        Json::Value g(Json::objectValue);
        g["type"] = type;
        g["id"] = type + "/" + std::to_string(vmid);
        g["vmid"] = vmid;
        g["name"] = "g" + std::to_string(vmid);
        g["node"] = node;
        g["status"] = status;
        g["maxcpu"] = maxcpu;
        g["maxmem"] = static_cast<Json::UInt64>(maxmem);
        g["cpu"] = cpu;
        g["mem"] = static_cast<Json::UInt64>(mem);
        return resources_.append(g);
    }
    snapshot_builder &storage(const std::string &node, const std::string &name, bool shared) {
        Json::Value s(Json::objectValue);
        s["type"] = "storage";
        s["node"] = node;
        s["storage"] = name;
        s["shared"] = shared ? 1 : 0;
        s["status"] = "available";
        resources_.append(s);
        return *this;
    }
    Json::Value &extra() { return extra_; } // ha, guests, options
    Json::Value &resources() { return resources_; }

    std::string json() const {
        Json::Value root = extra_.isNull() ? Json::Value(Json::objectValue) : extra_;
        root["resources"] = resources_;
        Json::StreamWriterBuilder b;
        b["indentation"] = "";
        return Json::writeString(b, root);
    }
    snapshot build() const {
        auto r = read_snapshot(json());
        if (!r) {
            throw std::runtime_error("test snapshot rejected: " + r.error().to_string());
        }
        return *r;
    }

private:
    Json::Value resources_{Json::arrayValue};
    Json::Value extra_;
};

inline std::string read_text(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::string data_path(const std::string &rel) {
    return std::string(PVEBAL_TEST_DATA) + "/" + rel;
}
// The shared data beside the repository (../shared), or $PVEBAL_SHARED as tests/run-checks and
// the CLI tests set it.
inline std::string shared_path(const std::string &rel) {
    const char *env = std::getenv("PVEBAL_SHARED");
    const std::string dir = env != nullptr && *env != '\0'
                                ? std::string(env)
                                : std::string(PVEBAL_TEST_DATA) + "/../../shared";
    return dir + "/" + rel;
}

// A test decorator: the case is skipped when a file of the shared data is missing, and says so
// on stderr (Boost.Test logs a skip's reason only at --log_level=test_suite or finer, so at the
// default level it would pass by unnoticed).
//   BOOST_AUTO_TEST_CASE(name, *boost::unit_test::precondition(shared_file("data/x.json")))
struct shared_file {
    std::string rel;
    boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id id) const {
        const std::string path = shared_path(rel);
        boost::test_tools::assertion_result r(std::filesystem::exists(path));
        r.message() << "shared data file " << path << " not found";
        if (!r) {
            std::cerr << "skipped "
                      << boost::unit_test::framework::get(id, boost::unit_test::TUT_ANY).full_name()
                      << ": shared data file " << path << " not found (set PVEBAL_SHARED)\n";
        }
        return r;
    }
};

} // namespace pvebal::test

#endif
