// File: pvebal/deadline.h
//
// The engine's time bound (option `deadline`, seconds, 0 = none): the one place where time
// enters the engine. Search loops ask `expired()`; once it says yes, the planner stops searching
// and returns its best result so far with a note saying so. When the deadline is not reached
// the answer is the same whatever the clock says (only `expired()` reads it).
//
//   pvebal::deadline dl(o.deadline);
//   while (... && !dl.expired()) { ... }
//   if (dl.hit()) p.notes.push_back(dl.note("the search for ..."));
//
// Tests replace the clock for a scope (no timing assertions): pvebal::scoped_clock fake(fn).
#ifndef PVEBAL_DEADLINE_H_
#define PVEBAL_DEADLINE_H_

#include <functional>
#include <string>

namespace pvebal {

// Seconds on a monotonic clock (std::chrono::steady_clock unless a test replaced it).
double engine_clock();

class deadline {
public:
    // seconds <= 0: no deadline (expired() never reads the clock).
    explicit deadline(double seconds);
    // Whether the time is up (and stays up once it was).
    bool expired();
    bool hit() const { return hit_; }
    double seconds() const { return seconds_; }
    // "stopped early: the deadline (10 s) was reached; <what>"
    std::string note(const std::string &what) const;

private:
    double seconds_;
    double end_ = 0;
    bool hit_ = false;
};

// Replaces engine_clock() while it lives (tests: a clock that advances per call).
class scoped_clock {
public:
    explicit scoped_clock(std::function<double()> fn);
    ~scoped_clock();
    scoped_clock(const scoped_clock &) = delete;
    scoped_clock &operator=(const scoped_clock &) = delete;

private:
    std::function<double()> previous_;
};

} // namespace pvebal

#endif
