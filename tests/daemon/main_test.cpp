#define BOOST_TEST_MODULE pve_balancerd
#include <boost/test/unit_test.hpp>
