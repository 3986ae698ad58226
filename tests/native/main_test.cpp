// Boost.Test entry point: one binary, one suite per engine module.
#define BOOST_TEST_MODULE pvebalancer
#include <boost/test/unit_test.hpp>
