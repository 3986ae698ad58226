#include "psi.h"

#include <charconv>
#include <cmath>

namespace pvebal::balancerd {

namespace {

std::optional<double> to_double(std::string_view s) {
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) {
        return std::nullopt;
    }
    return v;
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

// "avg10=1.53 avg60=0.87 avg300=0.22 total=58761459"
result<psi_averages> parse_fields(std::string_view rest, const std::string &path) {
    psi_averages a;
    bool have[4] = {false, false, false, false};
    while (!rest.empty()) {
        auto sp = rest.find(' ');
        auto word = rest.substr(0, sp);
        rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp + 1);
        if (word.empty()) {
            continue;
        }
        auto eq = word.find('=');
        if (eq == std::string_view::npos) {
            return fail(path, "expected key=value fields, got '" + std::string(word) + "'");
        }
        auto key = word.substr(0, eq);
        auto val = word.substr(eq + 1);
        double *avg = key == "avg10"    ? &a.avg10
                      : key == "avg60"  ? &a.avg60
                      : key == "avg300" ? &a.avg300
                                        : nullptr;
        if (avg) {
            auto v = to_double(val);
            if (!v || *v < 0 || *v > 100) {
                return fail(path + "." + std::string(key),
                            "expected a percentage from 0 to 100, got '" + std::string(val) + "'");
            }
            *avg = *v;
            have[key == "avg10" ? 0 : key == "avg60" ? 1 : 2] = true;
        } else if (key == "total") {
            auto v = to_u64(val);
            if (!v) {
                return fail(path + ".total",
                            "expected a non-negative integer, got '" + std::string(val) + "'");
            }
            a.total = *v;
            have[3] = true;
        }
    }
    static const char *names[4] = {"avg10", "avg60", "avg300", "total"};
    for (int i = 0; i < 4; ++i) {
        if (!have[i]) {
            return fail(path + "." + names[i], "missing");
        }
    }
    return a;
}

} // namespace

result<psi_sample> parse_psi(std::string_view text, const std::string &what) {
    psi_sample s;
    bool have_some = false;
    while (!text.empty()) {
        auto nl = text.find('\n');
        auto line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        auto sp = line.find(' ');
        auto kind = line.substr(0, sp);
        if (kind != "some" && kind != "full") {
            continue;
        }
        auto rest = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
        auto a = parse_fields(rest, what + "." + std::string(kind));
        if (!a) {
            return std::unexpected(a.error());
        }
        if (kind == "some") {
            s.some = *a;
            have_some = true;
        } else {
            s.full = *a;
        }
    }
    if (!have_some) {
        return fail(what, "expected a 'some avg10=... avg60=... avg300=... total=...' line");
    }
    return s;
}

std::string_view to_string(psi_mode m) {
    switch (m) {
    case psi_mode::off:
        return "off";
    case psi_mode::trigger:
        return "trigger";
    case psi_mode::poll:
        return "poll";
    }
    return "?";
}

void pressure_monitor::configure(const std::array<unsigned, 3> &threshold, unsigned window_s,
                                 psi_mode mode) {
    threshold_ = threshold;
    window_s_ = window_s;
    mode_ = mode;
    state_ = {};
}

bool pressure_monitor::any_high() const {
    for (const auto &s : state_) {
        if (s.high) {
            return true;
        }
    }
    return false;
}

pressure_monitor::edge pressure_monitor::set_high(psi_resource r, bool high, millis now) {
    auto &s = state_[index_of(r)];
    edge e;
    if (s.high != high) {
        s.high = high;
        s.since = now;
        e.changed = true;
        e.rose = high;
    }
    return e;
}

pressure_monitor::edge pressure_monitor::on_trigger(psi_resource r, const psi_reading &reading,
                                                    millis now) {
    if (mode_ != psi_mode::trigger || threshold_[index_of(r)] == 0) {
        return {};
    }
    auto &s = state_[index_of(r)];
    s.last_trigger = now;
    if (const auto &sample = reading[index_of(r)]) {
        s.value = sample->some.avg10;
    }
    return set_high(r, true, now);
}

pressure_monitor::edge pressure_monitor::on_reading(const psi_reading &reading, millis now) {
    edge out;
    if (mode_ == psi_mode::off) {
        return out;
    }
    for (auto r : all_psi_resources) {
        auto &s = state_[index_of(r)];
        const auto &sample = reading[index_of(r)];
        unsigned thr = threshold_[index_of(r)];
        if (sample) {
            s.value = sample->some.avg10;
        }
        bool high = s.high;
        if (thr == 0) {
            high = false;
        } else if (mode_ == psi_mode::trigger) {
            high = s.last_trigger != 0 && now - s.last_trigger < hold();
        } else if (sample) {
            double v = sample->some.avg10;
            high = s.high ? v >= 0.8 * thr : v >= thr;
        }
        auto e = set_high(r, high, now);
        out.rose |= e.rose;
        out.changed |= e.changed;
    }
    return out;
}

std::optional<millis> pressure_monitor::read_due(millis last_read) const {
    if (mode_ == psi_mode::poll) {
        return last_read + poll_period;
    }
    if (mode_ == psi_mode::trigger) {
        std::optional<millis> due;
        for (const auto &s : state_) {
            if (s.high) {
                millis t = s.last_trigger + hold();
                due = due ? std::min(*due, t) : t;
            }
        }
        return due;
    }
    return std::nullopt;
}

} // namespace pvebal::balancerd
