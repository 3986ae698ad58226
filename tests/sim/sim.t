#!/usr/bin/perl
# The simulator tests (tests/sim/test-*/, see tests/sim/README) as TAP for prove and make
# check: one test per directory, its log compared with the reviewed log.expect.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use SimSetup;
use Test::More;

my @dirs = sort glob("$FindBin::Bin/test-*");
ok(scalar(@dirs) >= 12, 'at least a dozen simulator tests') or diag scalar(@dirs);
for my $dir (@dirs) {
    (my $name = $dir) =~ s!.*/!!;
    my ($ok, $msg) = SimSetup::run_test($dir, "$SimSetup::root/tests/out/sim");
    ok($ok, $name) or diag $msg;
}
done_testing();
