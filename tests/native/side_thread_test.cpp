// planners/side_thread.h: what the second thread of balance and capacity throws reaches the
// caller at join(), as on one thread; a side thread that is not joined is waited for and its
// exception dropped, never std::terminate.
#include "planners/side_thread.h"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <new>
#include <stdexcept>

using pvebal::detail::side_thread;

BOOST_AUTO_TEST_SUITE(side_thread_errors)

BOOST_AUTO_TEST_CASE(join_waits_for_the_work) {
    std::atomic<int> done{0};
    side_thread t([&] { done = 1; });
    t.join();
    BOOST_TEST(done.load() == 1);
}

BOOST_AUTO_TEST_CASE(join_rethrows_what_the_work_threw) {
    side_thread t([] { throw std::bad_alloc(); });
    BOOST_CHECK_THROW(t.join(), std::bad_alloc);
    side_thread u([] { throw std::logic_error("broken invariant"); });
    try {
        u.join();
        BOOST_FAIL("join did not rethrow");
    } catch (const std::logic_error &e) {
        BOOST_TEST(std::string(e.what()) == "broken invariant");
    }
}

BOOST_AUTO_TEST_CASE(an_unjoined_side_thread_is_waited_for_and_its_error_dropped) {
    std::atomic<int> done{0};
    {
        side_thread t([&] {
            done = 1;
            throw std::runtime_error("not wanted");
        });
    }
    BOOST_TEST(done.load() == 1);
}

BOOST_AUTO_TEST_SUITE_END()
