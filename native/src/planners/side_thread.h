// Internal to the planners: work on a second thread whose exception (an allocation that fails,
// a broken invariant) reaches the caller as it would on one thread, instead of std::terminate
// ending the process that called the engine (the CLI, pvedaemon's worker, the HA manager).
#ifndef PVEBAL_PLANNERS_SIDE_THREAD_H_
#define PVEBAL_PLANNERS_SIDE_THREAD_H_

#include <exception>
#include <thread>
#include <utility>

namespace pvebal::detail {

class side_thread {
public:
    template <class F>
    explicit side_thread(F &&work)
        : thread_([this, work = std::forward<F>(work)]() mutable {
              try {
                  work();
              } catch (...) {
                  error_ = std::current_exception();
              }
          }) {}
    side_thread(const side_thread &) = delete;
    side_thread &operator=(const side_thread &) = delete;

    // Waits for the work; rethrows what it threw. Once only.
    void join() {
        thread_.join();
        if (error_) {
            std::rethrow_exception(std::exchange(error_, nullptr));
        }
    }

    // Without join(): waits, and what the work threw is dropped (its result was not wanted).
    ~side_thread() = default;

private:
    std::exception_ptr error_; // before thread_: set only by the thread, read after its join
    std::jthread thread_;      // last: joined before error_ goes
};

} // namespace pvebal::detail

#endif
