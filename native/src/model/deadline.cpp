#include "pvebal/deadline.h"

#include <chrono>
#include <cstdio>

namespace pvebal {

namespace {

// Per thread: a test's fake clock never leaks into another thread's engine call.
thread_local std::function<double()> clock_override;

} // namespace

double engine_clock() {
    if (clock_override) {
        return clock_override();
    }
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

deadline::deadline(double seconds) : seconds_(seconds) {
    if (seconds_ > 0) {
        end_ = engine_clock() + seconds_;
    }
}

bool deadline::expired() {
    if (!hit_ && seconds_ > 0 && engine_clock() >= end_) {
        hit_ = true;
    }
    return hit_;
}

std::string deadline::note(const std::string &what) const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", seconds_);
    return "stopped early: the deadline (" + std::string(buf) + " s) was reached; " + what;
}

scoped_clock::scoped_clock(std::function<double()> fn) : previous_(std::move(clock_override)) {
    clock_override = std::move(fn);
}

scoped_clock::~scoped_clock() {
    clock_override = std::move(previous_);
}

} // namespace pvebal
