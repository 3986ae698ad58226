#include "messages.h"

#include <cmath>
#include <cstdio>
#include <memory>

namespace pvebal::balancerd {

namespace {

// Thrown by the field readers below and turned into an error value by decode().
struct bad_field {
    std::string path;
    std::string message;
};

std::string field_path(const std::string &base, const char *key) {
    return base.empty() ? key : base + "." + key;
}

const Json::Value &member(const Json::Value &obj, const char *key, const std::string &path) {
    if (!obj.isMember(key)) {
        throw bad_field{field_path(path, key), "missing"};
    }
    return obj[key];
}

std::string get_string(const Json::Value &obj, const char *key, const std::string &path) {
    const auto &v = member(obj, key, path);
    if (!v.isString()) {
        throw bad_field{field_path(path, key), "expected a string"};
    }
    return v.asString();
}

bool get_bool(const Json::Value &obj, const char *key, const std::string &path) {
    const auto &v = member(obj, key, path);
    if (!v.isBool()) {
        throw bad_field{field_path(path, key), "expected a boolean"};
    }
    return v.asBool();
}

std::int64_t get_int(const Json::Value &obj, const char *key, const std::string &path,
                     std::int64_t lo, std::int64_t hi) {
    const auto &v = member(obj, key, path);
    if (!v.isIntegral() || v.asInt64() < lo || v.asInt64() > hi) {
        throw bad_field{field_path(path, key), "expected an integer from " + std::to_string(lo) +
                                                   " to " + std::to_string(hi)};
    }
    return v.asInt64();
}

double get_percent(const Json::Value &v, const std::string &path) {
    if (!v.isNumeric() || !std::isfinite(v.asDouble()) || v.asDouble() < 0 || v.asDouble() > 100) {
        throw bad_field{path, "expected a percentage from 0 to 100"};
    }
    return v.asDouble();
}

constexpr std::int64_t max_time = std::int64_t{1} << 50;

role get_role(const Json::Value &obj, const std::string &path) {
    auto s = get_string(obj, "role", path);
    for (auto r : {role::disconnected, role::no_quorum, role::standby, role::active}) {
        if (to_string(r) == s) {
            return r;
        }
    }
    throw bad_field{field_path(path, "role"),
                    "expected disconnected, no-quorum, standby or active"};
}

Json::Value pressure_json(const pressure_info &p) {
    Json::Value v(Json::objectValue);
    v["mode"] = std::string(to_string(p.mode));
    Json::Value high(Json::arrayValue);
    for (auto r : all_psi_resources) {
        if (p.high[index_of(r)]) {
            high.append(std::string(to_string(r)));
        }
        v[std::string(to_string(r))] = std::round(p.value[index_of(r)] * 100) / 100;
    }
    v["high"] = high;
    v["changed"] = Json::Int64(p.changed);
    return v;
}

pressure_info pressure_from(const Json::Value &v, const std::string &path) {
    if (!v.isObject()) {
        throw bad_field{path, "expected an object"};
    }
    pressure_info p;
    auto mode = get_string(v, "mode", path);
    if (mode == "off") {
        p.mode = psi_mode::off;
    } else if (mode == "trigger") {
        p.mode = psi_mode::trigger;
    } else if (mode == "poll") {
        p.mode = psi_mode::poll;
    } else {
        throw bad_field{field_path(path, "mode"), "expected off, trigger or poll"};
    }
    for (auto r : all_psi_resources) {
        auto key = std::string(to_string(r));
        p.value[index_of(r)] =
            get_percent(member(v, key.c_str(), path), field_path(path, key.c_str()));
    }
    const auto &high = member(v, "high", path);
    if (!high.isArray()) {
        throw bad_field{field_path(path, "high"), "expected an array of resource names"};
    }
    for (Json::ArrayIndex i = 0; i < high.size(); ++i) {
        auto r = high[i].isString() ? psi_resource_from(high[i].asString()) : std::nullopt;
        if (!r) {
            throw bad_field{field_path(path, "high") + "[" + std::to_string(i) + "]",
                            "expected cpu, memory or io"};
        }
        p.high[index_of(*r)] = true;
    }
    p.changed = get_int(v, "changed", path, 0, max_time);
    return p;
}

Json::Value parse(std::string_view bytes) {
    Json::CharReaderBuilder b;
    b["collectComments"] = false;
    b["allowComments"] = false;
    b["strictRoot"] = true;
    b["rejectDupKeys"] = true;
    b["failIfExtra"] = true;
    b["allowSpecialFloats"] = false;
    b["stackLimit"] = 20;
    std::unique_ptr<Json::CharReader> reader(b.newCharReader());
    Json::Value root;
    std::string errs;
    if (!reader->parse(bytes.data(), bytes.data() + bytes.size(), &root, &errs)) {
        throw bad_field{"", "not a JSON object: " + errs.substr(0, errs.find('\n'))};
    }
    if (!root.isObject()) {
        throw bad_field{"", "expected a JSON object"};
    }
    return root;
}

std::string compact(const Json::Value &v) {
    Json::StreamWriterBuilder w;
    w["indentation"] = "";
    w["precision"] = 6;
    return Json::writeString(w, v);
}

} // namespace

std::string describe_pressure(const pressure_info &p) {
    std::string out;
    for (auto r : all_psi_resources) {
        if (p.high[index_of(r)]) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%s %.1f%%", std::string(to_string(r)).c_str(),
                          p.value[index_of(r)]);
            out += (out.empty() ? "" : ", ") + std::string(buf);
        }
    }
    return out;
}

Json::Value to_json(const cycle_record &c, time_unit unit) {
    auto t = [unit](millis m) {
        return Json::Int64(unit == time_unit::seconds ? to_epoch_seconds(m) : m);
    };
    Json::Value v(Json::objectValue);
    v["id"] = c.id;
    v["node"] = c.node;
    v["trigger"] = c.triggers.to_string();
    v["detail"] = c.detail;
    v["started"] = t(c.started);
    if (!c.running()) {
        v["finished"] = t(c.finished);
    }
    v["result"] = std::string(to_string(c.result));
    if (c.exit_code >= 0) {
        v["exit-code"] = c.exit_code;
    }
    if (c.signal != 0) {
        v["signal"] = c.signal;
    }
    if (c.stopped != stop_reason::none) {
        v["stopped"] = std::string(to_string(c.stopped));
    }
    return v;
}

result<cycle_record> cycle_from_json(const Json::Value &v, const std::string &path,
                                     time_unit unit) {
    try {
        if (!v.isObject()) {
            throw bad_field{path, "expected an object"};
        }
        millis scale = unit == time_unit::seconds ? one_second : 1;
        cycle_record c;
        c.id = get_string(v, "id", path);
        c.node = get_string(v, "node", path);
        auto t = trigger_set::parse(get_string(v, "trigger", path));
        if (!t) {
            throw bad_field{field_path(path, "trigger"),
                            "expected a comma-separated list of interval, pressure, config"};
        }
        c.triggers = *t;
        c.detail = get_string(v, "detail", path);
        c.started = get_int(v, "started", path, 0, max_time) * scale;
        if (v.isMember("finished")) {
            c.finished = get_int(v, "finished", path, 1, max_time) * scale;
        }
        auto r = cycle_result_from(get_string(v, "result", path));
        if (!r || (*r == cycle_result::none) != c.running()) {
            throw bad_field{field_path(path, "result"),
                            "expected 'running' without 'finished', or a result with it"};
        }
        c.result = *r;
        if (v.isMember("exit-code")) {
            c.exit_code = static_cast<int>(get_int(v, "exit-code", path, 0, 255));
        }
        if (v.isMember("signal")) {
            c.signal = static_cast<int>(get_int(v, "signal", path, 1, 128));
        }
        if (v.isMember("stopped")) {
            auto s = stop_reason_from(get_string(v, "stopped", path));
            if (!s) {
                throw bad_field{field_path(path, "stopped"), "expected a stop reason"};
            }
            c.stopped = *s;
        }
        return c;
    } catch (const bad_field &e) {
        return fail(e.path, e.message);
    }
}

std::string encode(const message &m) {
    Json::Value v(Json::objectValue);
    v["format"] = message_format;
    if (const auto *s = std::get_if<state_message>(&m)) {
        v["type"] = "state";
        v["node"] = s->node;
        v["version"] = s->version;
        v["role"] = std::string(to_string(s->r));
        v["quorate"] = s->quorate;
        v["auto"] = s->auto_balance;
        v["started"] = Json::Int64(s->started);
        if (s->r == role::active) {
            v["active-since"] = Json::Int64(s->active_since);
        }
        v["pressure"] = pressure_json(s->pressure);
        if (s->cycle) {
            v["cycle"] = to_json(*s->cycle, time_unit::milliseconds);
        }
        if (s->last_cycle) {
            v["last-cycle"] = to_json(*s->last_cycle, time_unit::milliseconds);
        }
    } else {
        const auto &p = std::get<pressure_message>(m);
        v["type"] = "pressure";
        v["node"] = p.node;
        Json::Value res(Json::objectValue);
        for (auto r : all_psi_resources) {
            if (const auto &x = p.resources[index_of(r)]) {
                res[std::string(to_string(r))] = std::round(*x * 100) / 100;
            }
        }
        v["resources"] = res;
    }
    return compact(v);
}

result<std::optional<message>> decode(std::string_view bytes) {
    try {
        auto v = parse(bytes);
        auto type = get_string(v, "type", "");
        auto format = get_int(v, "format", "", 1, 1000000);
        if (format > message_format || (type != "state" && type != "pressure")) {
            return std::optional<message>();
        }
        auto node = get_string(v, "node", "");
        if (node.empty()) {
            throw bad_field{"node", "expected a node name"};
        }
        if (type == "pressure") {
            pressure_message p;
            p.node = node;
            const auto &res = member(v, "resources", "");
            if (!res.isObject()) {
                throw bad_field{"resources", "expected an object"};
            }
            for (const auto &key : res.getMemberNames()) {
                auto r = psi_resource_from(key);
                if (!r) {
                    throw bad_field{"resources." + key, "expected cpu, memory or io"};
                }
                p.resources[index_of(*r)] = get_percent(res[key], "resources." + key);
            }
            return std::optional<message>(p);
        }
        state_message s;
        s.node = node;
        s.version = get_string(v, "version", "");
        s.r = get_role(v, "");
        s.quorate = get_bool(v, "quorate", "");
        s.auto_balance = get_bool(v, "auto", "");
        s.started = get_int(v, "started", "", 0, max_time);
        if (s.r == role::active) {
            s.active_since = get_int(v, "active-since", "", 0, max_time);
        }
        s.pressure = pressure_from(member(v, "pressure", ""), "pressure");
        for (const char *key : {"cycle", "last-cycle"}) {
            if (v.isMember(key)) {
                auto c = cycle_from_json(v[key], key, time_unit::milliseconds);
                if (!c) {
                    return std::unexpected(c.error());
                }
                (std::string_view(key) == "cycle" ? s.cycle : s.last_cycle) = *c;
            }
        }
        return std::optional<message>(s);
    } catch (const bad_field &e) {
        return fail(e.path, e.message);
    }
}

} // namespace pvebal::balancerd
