package PVE::INotify;

# Test double of pve-common's PVE::INotify (src/PVE/INotify.pm): only nodename(), the simulated local node.

use strict;
use warnings;

sub nodename {
    my $sim = PVEBalancerTest::SimCluster->current();
    return $sim ? $sim->{nodename} : 'localhost';
}

1;
