package PVE::QemuConfig;

# Test double of qemu-server's PVE::QemuConfig (src/PVE/QemuConfig.pm): load_config() of the simulated guest; like the
# real one it only finds the config on the node that owns the guest.

use strict;
use warnings;

sub load_config {
    my ($class, $vmid, $node) = @_;

    my $sim = PVEBalancerTest::SimCluster->current() or die "no cluster\n";
    return $sim->load_config('qemu', $vmid, $node);
}

1;
