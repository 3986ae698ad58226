package PVE::LXC::Config;

# Test double of pve-container's PVE::LXC::Config (src/PVE/LXC/Config.pm): load_config() of the simulated container.

use strict;
use warnings;

sub load_config {
    my ($class, $vmid, $node) = @_;

    my $sim = PVEBalancerTest::SimCluster->current() or die "no cluster\n";
    return $sim->load_config('lxc', $vmid, $node);
}

1;
